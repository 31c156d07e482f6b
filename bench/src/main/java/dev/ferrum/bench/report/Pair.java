package dev.ferrum.bench.report;

import java.util.List;
import java.util.Map;

/**
 * One row of the report's target table: a safe benchmark, the baseline it is compared with, and the target for
 * {@code safe / baseline} (time per operation; lower is better).
 *
 * <p>Invariants: {@code target > 0}; keys name {@link Measurement} keys.
 */
record Pair(String group, String name, String safeKey, String baseKey, String baseLabel, double target,
            String measures) {

    /** What the comparison came out as. */
    enum Verdict {
        MET("yes"),
        MET_WITHIN_ERROR("yes (within error)"),
        MISSED_WITHIN_ERROR("no (within error)"),
        MISSED("**no**"),
        /** A side's error is at least its value: the interval says nothing. */
        INCONCLUSIVE("inconclusive (error ≥ value)"),
        NOT_MEASURED("not measured");

        final String text;

        Verdict(String text) {
            this.text = text;
        }
    }

    /** A pair evaluated against a set of results; {@code safe} or {@code base} null when not measured. */
    record Row(Pair pair, Measurement safe, Measurement base, double ratio, double ratioError, Verdict verdict) {
    }

    /**
     * {@return the pair evaluated} The ratio's error propagates the two 99.9% half-widths as relative errors
     * added in quadrature. The verdict is "yes" when the whole interval is at or under the target, "no" when it is
     * wholly above, and otherwise "(within error)" with the side the point estimate falls on; "inconclusive" when a
     * side's error is as large as its value (first-order propagation means nothing then).
     */
    Row evaluate(Map<String, Measurement> results) {
        Measurement s = results.get(safeKey);
        Measurement b = results.get(baseKey);
        if (s == null || b == null) {
            return new Row(this, s, b, Double.NaN, Double.NaN, Verdict.NOT_MEASURED);
        }
        double ratio = s.nsPerOp() / b.nsPerOp();
        double err = ratio * Math.hypot(s.relativeError(), b.relativeError());
        Verdict v = s.relativeError() >= 1 || b.relativeError() >= 1 ? Verdict.INCONCLUSIVE
                : verdict(ratio, err, target);
        return new Row(this, s, b, ratio, err, v);
    }

    static Verdict verdict(double value, double err, double target) {
        if (value + err <= target) {
            return Verdict.MET;
        }
        if (value - err > target) {
            return Verdict.MISSED;
        }
        return value <= target ? Verdict.MET_WITHIN_ERROR : Verdict.MISSED_WITHIN_ERROR;
    }

    static final String MMIO = "MMIO registers";
    static final String DESCRIPTORS = "DMA descriptors";
    static final String REFCOUNT = "Reference counts";
    static final String LOCKS = "Locks";
    static final String NVME = "NVMe I/O path";
    static final String WORKQUEUE = "Workqueue";

    /** The pairs the issue sets targets for, in report order. */
    static final List<Pair> ALL = List.of(
            mmio("read32", "read32 (acquire)", "one 32-bit register read with acquire ordering (readl)"),
            mmio("read32Relaxed", "read32 relaxed", "one 32-bit opaque register read (readl_relaxed)"),
            mmio("read64", "read64 (acquire)", "one 64-bit register read with acquire ordering"),
            mmio("write32", "write32 (release)", "one 32-bit register write with release ordering (writel, a "
                    + "doorbell)"),
            mmio("write32Relaxed", "write32 relaxed", "one 32-bit opaque register write (writel_relaxed)"),
            mmio("fieldUpdate", "bit-field update", "Register32.update: acquire read, replace a 4-bit field, "
                    + "release write"),
            new Pair(DESCRIPTORS, "SQE fill", "DescriptorBench.sqeFill_safe", "DescriptorBench.sqeFill_unsafe",
                    "Unsafe", 1.05, "write one 64-byte NVMe submission entry (eight packed 64-bit stores) into a "
                    + "DMA ring (Sqe.write on a DmaBuffer segment)"),
            new Pair(DESCRIPTORS, "CQE poll + read", "DescriptorBench.cqePoll_safe", "DescriptorBench.cqePoll_unsafe",
                    "Unsafe", 1.05, "one 64-bit acquire load of a completion entry's DW2 and DW3, check the phase "
                    + "tag, read DW0, advance the head; plus one release store re-arming the entry (Cqe on a DmaBuffer "
                    + "segment)"),
            new Pair(REFCOUNT, "Refcount inc + decAndTest", "RefcountBench.refcount_safe",
                    "RefcountBench.refcount_varHandle", "VarHandle", 1.05, "take and drop one reference: two "
                    + "atomic read-modify-writes plus the saturation checks"),
            new Pair(REFCOUNT, "Arc clone + close", "RefcountBench.arc_safe", "RefcountBench.refcount_varHandle",
                    "VarHandle", 1.05, "clone a handle and close it: the refcount operations, a new handle object "
                    + "and its closed-flag CAS, against the bare count"),
            new Pair(LOCKS, "SpinLock, uncontended", "LockBench.uncontended_spinLock", "LockBench.uncontended_rawCas",
                    "raw CAS lock", 1.10, "lock, increment the guarded counter, unlock; one thread (lock-order "
                    + "checker compiled out)"),
            new Pair(LOCKS, "SpinLock, 2 threads", "LockBench.contended_spinLock", "LockBench.contended_rawCas",
                    "raw CAS lock", 1.10, "the same with two threads on one lock (time per operation per thread)"),
            new Pair(NVME, "driver per I/O on the mock, safe / raw", "NvmeDriverBench.io_safe",
                    "NvmeDriverBench.io_raw", "RawQueue on the mock", 1.10, "IoQueuePair.read (all its checks; the "
                    + "buffer registered with the pair), one step of the mock NVMe controller in null mode, "
                    + "processCompletions and the callback, on one thread; against RawQueue on an identical controller "
                    + "(the device's work is the same)"),
            new Pair(NVME, "queue code per I/O, safe / raw", "NvmeQueueBench.io_safe", "NvmeQueueBench.io_raw",
                    "RawQueue", 1.10, "the driver's Queue code driven as IoQueuePair does (PRP, SQE, doorbell; reap, "
                    + "validation, callback; the data buffer registered) with a minimal null device stepped in the loop: the driver's "
                    + "queue cost without the mock's; against the same code on raw addresses"),
            new Pair(NVME, "queue code per I/O, safe / C", "NvmeQueueBench.io_safe", "C.nvme_null_loop", "C (gcc -O2)",
                    1.5, "the same loop against native/c/nvme_null_loop.c, its line-by-line C twin"),
            new Pair(WORKQUEUE, "enqueue-to-run latency", "WorkqueueBench.latency[executor=workqueue]",
                    "WorkqueueBench.latency[executor=threadPool]", "ThreadPoolExecutor", 1.0,
                    "enqueue one item on an idle pool and spin until it ran (virtual-thread Workqueue)"),
            new Pair(WORKQUEUE, "enqueue-to-run latency, high-priority queue",
                    "WorkqueueBench.latency[executor=workqueueHighPri]", "WorkqueueBench.latency[executor=threadPool]",
                    "ThreadPoolExecutor", 1.0, "the same with a highPriority() Workqueue (platform threads)"));

    private static Pair mmio(String op, String name, String measures) {
        return new Pair(MMIO, name, "MmioBench." + op + "_safe", "MmioBench." + op + "_unsafe", "Unsafe", 1.05,
                measures);
    }
}
