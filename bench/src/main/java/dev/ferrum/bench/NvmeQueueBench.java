package dev.ferrum.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * The NVMe I/O path per I/O, device stepped synchronously on the benchmark thread (pure driver cost plus the null
 * device's few stores): submit one 4 KiB Read (free-slot check, CID allocation, pin for the safe driver, PRP
 * setup, 64-byte SQE, SQ tail doorbell with release), {@code device.step()} (reads the doorbell, writes a CQE),
 * then reap it (acquire-read of the phase, validation of CID, SQ head and SQ ID, CQ head doorbell, slot freed,
 * unpin for the safe driver) and run its callback.
 *
 * <p>{@code io_safe}: the driver's {@code Queue}/{@code Sqe}/{@code Cqe} on {@code DmaBuffer} segments and a checked
 * {@code Mmio}; {@code io_raw}: {@code RawQueue}, the same code on raw addresses. {@code native/c/nvme_null_loop.c}
 * is the same loop in C. See {@link NvmeRig}. The data buffer is registered with the safe path (pinned once), as
 * an application of {@code IoQueuePair} registers its buffers; {@code io_safePinPerIo} is a diagnostic with an
 * unregistered buffer, pinned and unpinned per I/O.
 *
 * <p>Invariants: no command is outstanding between operations (each operation completes the I/O it submits).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NvmeQueueBench {

    @State(Scope.Thread)
    public static class Safe {
        NvmeRig rig;

        @Setup
        public void setup() {
            rig = new NvmeRig(NvmeRig.Driver.SAFE);
        }

        @TearDown
        public void tearDown() {
            rig.close();
        }
    }

    @State(Scope.Thread)
    public static class Raw {
        NvmeRig rig;

        @Setup
        public void setup() {
            rig = new NvmeRig(NvmeRig.Driver.RAW);
        }

        @TearDown
        public void tearDown() {
            rig.close();
        }
    }

    /** Diagnostic: the safe driver with an unregistered buffer, pinned and unpinned per I/O (two CAS). */
    @State(Scope.Thread)
    public static class SafePinPerIo {
        NvmeRig rig;

        @Setup
        public void setup() {
            rig = new NvmeRig(NvmeRig.Driver.SAFE_PIN_PER_IO);
        }

        @TearDown
        public void tearDown() {
            rig.close();
        }
    }

    @Benchmark
    public int io_safe(Safe s) {
        return IoRig.oneIo(s.rig);
    }

    @Benchmark
    public int io_safePinPerIo(SafePinPerIo s) {
        return IoRig.oneIo(s.rig);
    }

    @Benchmark
    public int io_raw(Raw s) {
        return IoRig.oneIo(s.rig);
    }
}
