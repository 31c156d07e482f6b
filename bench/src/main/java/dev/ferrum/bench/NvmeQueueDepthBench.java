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
 * spin while they wait, and yield only after 20 000 spins (a peer that was descheduled). The score is I/Os per second. On a 2-core machine the
 * device thread takes the second core. Same driver variants as {@link NvmeQueueBench}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class NvmeQueueDepthBench {
    static final int SPINS_BEFORE_YIELD = 20_000;

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

    /**
     * Waits for one completion, spinning, then yielding the CPU (on a machine with more runnable threads than cores,
     * pure spinning would wait whole scheduler time slices for a descheduled device thread), reaps it and resubmits.
     */
    static int completeAndResubmit(NvmeRig rig) {
        int n;
        int idle = 0;
        while ((n = rig.complete(1)) == 0) {
            if (++idle < SPINS_BEFORE_YIELD) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        rig.submit();
        return n;
    }

    @Benchmark
    public int iops_safe(Safe s) {
        return completeAndResubmit(s.rig);
    }

    @Benchmark
    public int iops_raw(Raw s) {
        return completeAndResubmit(s.rig);
    }
}
