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
 * IOPS against queue depth with the null device on its own thread (as hardware runs beside the CPU): the
 * benchmark thread keeps {@code qd} 4 KiB Reads outstanding; each operation waits (spinning) for a completion,
 * reaps it, runs its callback and submits a replacement. Both sides
 * wait as {@link dev.ferrum.bench.internal.Backoff} says: spin, and yield only after 50 µs (a peer that was descheduled). The score is I/Os per second. On a 2-core machine the
 * device thread takes the second core. Same driver variants as {@link NvmeQueueBench}.
 *
 * <p>Invariants: exactly qd commands are outstanding between operations; the device thread runs from set-up to
 * tear-down, which completes everything before freeing memory.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class NvmeQueueDepthBench {

    /** A rig with its device thread running and {@code qd} commands in flight. */
    @State(Scope.Thread)
    public abstract static class Threaded {
        @Param({"1", "2", "4", "8", "16", "32", "64", "128"})
        public int qd;

        NvmeRig rig;

        abstract NvmeRig.Driver driver();

        @Setup
        public void setup() {
            rig = new NvmeRig(driver());
            rig.device.startThread("bench-null-nvme");
            for (int i = 0; i < qd; i++) {
                rig.submit();
            }
        }

        @TearDown
        public void tearDown() {
            try {
                rig.drain();
            } finally {
                rig.close();
            }
        }
    }

    @State(Scope.Thread)
    public static class Safe extends Threaded {
        @Override
        NvmeRig.Driver driver() {
            return NvmeRig.Driver.SAFE;
        }
    }

    @State(Scope.Thread)
    public static class Raw extends Threaded {
        @Override
        NvmeRig.Driver driver() {
            return NvmeRig.Driver.RAW;
        }
    }

    @Benchmark
    public int iops_safe(Safe s) {
        return IoRig.completeAndResubmit(s.rig);
    }

    @Benchmark
    public int iops_raw(Raw s) {
        return IoRig.completeAndResubmit(s.rig);
    }
}
