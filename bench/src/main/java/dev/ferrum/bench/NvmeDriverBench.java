package dev.ferrum.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * The whole driver path per I/O: {@code IoQueuePair.read} (namespace, LBA range, buffer, owner-thread and
 * controller-generation checks, pin, PRP setup, SQE, doorbell), the mock NVMe controller in null mode (fetch through
 * the mock IOMMU, decode, validate, post the completion), {@code processCompletions} (reap with validation, unpin,
 * timeout bookkeeping, callback). See {@link MockNvmeRig}.
 *
 * <ul>
 *   <li>{@code io_safe} / {@code io_raw}: the controller stepped on the benchmark thread after each submission:
 *       driver plus mock cost per I/O on one core (the "synchronous null mode" of the 5 M I/O/s target), for the
 *       driver and for {@code RawQueue} on an identical controller ({@link dev.ferrum.bench.internal.RawMockHost}).
 *       {@link NvmeQueueBench} is the same queue code with a minimal null device instead of the mock. The driver's
 *       data buffer is registered with the queue pair ({@code IoQueuePair.registerBuffer}), as an application
 *       does; {@code io_safePinPerIo} is a diagnostic with an unregistered buffer.</li>
 *   <li>{@code iops_safe} / {@code iops_raw}: the controller on its own thread, {@code qd} Reads in flight; each
 *       operation waits for one completion and submits a replacement; the score is I/O per second.</li>
 * </ul>
 *
 * <p>Invariants: each state owns its own controller, bus and queue pair, created and closed on the benchmark
 * thread; every submitted command completes before its state closes.
 */
public class NvmeDriverBench {

    /** A stepped controller with the driver ({@code raw() == false}) or {@code RawQueue} on it. */
    @State(Scope.Thread)
    public abstract static class Stepped {
        MockNvmeRig rig;

        abstract boolean raw();

        boolean register() {
            return true;
        }

        @Setup
        public void setup() {
            rig = new MockNvmeRig(true, raw(), register());
        }

        @TearDown
        public void tearDown() {
            rig.close();
        }
    }

    @State(Scope.Thread)
    public static class SteppedSafe extends Stepped {
        @Override
        boolean raw() {
            return false;
        }
    }

    /** Diagnostic: the driver with an unregistered buffer (a pin and an unpin per command). */
    @State(Scope.Thread)
    public static class SteppedSafePinPerIo extends Stepped {
        @Override
        boolean raw() {
            return false;
        }

        @Override
        boolean register() {
            return false;
        }
    }

    @State(Scope.Thread)
    public static class SteppedRaw extends Stepped {
        @Override
        boolean raw() {
            return true;
        }
    }

    /** A threaded controller with {@code qd} commands in flight. */
    @State(Scope.Thread)
    public abstract static class Threaded {
        @Param({"1", "2", "4", "8", "16", "32", "64", "128"})
        public int qd;

        MockNvmeRig rig;

        abstract boolean raw();

        @Setup
        public void setup() {
            rig = new MockNvmeRig(false, raw(), true);
            for (int i = 0; i < qd; i++) {
                rig.submit();
            }
        }

        @TearDown
        public void tearDown() {
            rig.close(); // completes what is outstanding first
        }
    }

    @State(Scope.Thread)
    public static class ThreadedSafe extends Threaded {
        @Override
        boolean raw() {
            return false;
        }
    }

    @State(Scope.Thread)
    public static class ThreadedRaw extends Threaded {
        @Override
        boolean raw() {
            return true;
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public int io_safe(SteppedSafe s) {
        return IoRig.oneIo(s.rig);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public int io_safePinPerIo(SteppedSafePinPerIo s) {
        return IoRig.oneIo(s.rig);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public int io_raw(SteppedRaw s) {
        return IoRig.oneIo(s.rig);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public int iops_safe(ThreadedSafe s) {
        return IoRig.completeAndResubmit(s.rig);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public int iops_raw(ThreadedRaw s) {
        return IoRig.completeAndResubmit(s.rig);
    }
}
