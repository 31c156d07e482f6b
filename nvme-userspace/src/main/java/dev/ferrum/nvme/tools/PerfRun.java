package dev.ferrum.nvme.tools;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoCallback;
import dev.ferrum.nvme.IoQueuePair;
import dev.ferrum.nvme.IoStatus;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.QueuePairOptions;
import org.HdrHistogram.Histogram;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The engine of {@code ferrum nvme perf}, modelled on {@code spdk_nvme_perf}: one worker thread per queue pair,
 * each keeping {@code queueDepth} I/Os in flight with the allocation-free callback API, recording every latency in
 * an HdrHistogram, with a progress line each second.
 *
 * <p>Queue depth counts I/Os; an I/O larger than the controller's per-command limit (MDTS) is split by the driver
 * and takes several queue slots, so each queue pair is created with {@code queueDepth × commands per I/O} slots.
 * Asynchronous submission never waits for slots (it throws {@code QueueFullException}), so the run must never ask
 * for more than that. If the controller's largest queue (CAP.MQES) cannot hold it, the depth is reduced, said so
 * on the output, and the summary reports the depth used.
 */
final class PerfRun {
    /** The access pattern. */
    enum Pattern { READ, WRITE, RANDREAD, RANDWRITE, RW, RANDRW }

    record Params(int queueDepth, int ioSize, Pattern pattern, int readPercent, Duration time, int queuePairs,
                  QueuePairOptions.Completion completion, long seed) {}

    /**
     * @param queueDepth     I/Os kept in flight per queue pair (may be less than asked, see the class comment)
     * @param commandsPerIo  NVMe commands (queue slots) each I/O takes
     */
    record Result(long ios, long errors, double seconds, Histogram latencyNanos, long bytes, int queueDepth,
                  int commandsPerIo) {
        double iops() {
            return ios / seconds;
        }

        double mibPerSecond() {
            return bytes / seconds / (1 << 20);
        }
    }

    private final NvmeController ctrl;
    private final Namespace ns;
    private final Params p;
    private final PrintWriter out;

    PerfRun(NvmeController ctrl, Namespace ns, Params params, PrintWriter out) {
        if (params.ioSize() % ns.blockSize() != 0) {
            throw new IllegalArgumentException("I/O size " + params.ioSize() + " is not a multiple of the block size "
                    + ns.blockSize());
        }
        if ((long) params.ioSize() / ns.blockSize() > ns.blockCount()) {
            throw new IllegalArgumentException("I/O size " + params.ioSize() + " exceeds the namespace");
        }
        this.ctrl = ctrl;
        this.ns = ns;
        this.p = params;
        this.out = out;
    }

    Result run() throws InterruptedException {
        List<Worker> workers = new ArrayList<>();
        CountDownLatch ready = new CountDownLatch(p.queuePairs());
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < p.queuePairs(); i++) {
            workers.add(new Worker(i, ready, go, failure));
        }
        for (Worker w : workers) {
            w.thread.start();
        }
        // The clock starts when every worker has its queue pair and buffers: set-up is not measured.
        ready.await();
        long start = System.nanoTime();
        long deadline = start + p.time().toNanos();
        for (Worker w : workers) {
            w.deadline = deadline;
        }
        go.countDown();
        long last = 0;
        for (int second = 1; System.nanoTime() < deadline; second++) {
            long wake = start + TimeUnit.SECONDS.toNanos(second);
            while (System.nanoTime() < Math.min(wake, deadline) && failure.get() == null) {
                TimeUnit.MILLISECONDS.sleep(Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(wake, deadline)
                        - System.nanoTime())));
            }
            if (failure.get() != null) {
                break;
            }
            long total = workers.stream().mapToLong(w -> w.completed.get()).sum();
            if (System.nanoTime() < deadline || second == 1) {
                out.printf("[%3ds] %,12d IOPS %10.1f MiB/s%n", second, total - last,
                        (double) (total - last) * p.ioSize() / (1 << 20));
            }
            last = total;
        }
        for (Worker w : workers) {
            w.thread.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("perf worker failed: " + failure.get().getMessage(), failure.get());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Histogram h = new Histogram(3);
        long ios = 0;
        long errors = 0;
        int depth = Integer.MAX_VALUE;
        for (Worker w : workers) {
            h.add(w.histogram);
            ios += w.completed.get();
            errors += w.errors;
            depth = Math.min(depth, w.buffers.length);
        }
        return new Result(ios, errors, seconds, h, ios * p.ioSize(), depth, workers.getFirst().commandsPerIo);
    }

    /** One queue pair on its own thread. */
    private final class Worker implements IoCallback {
        final Thread thread;
        final int index;
        final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        final AtomicLong completed = new AtomicLong();
        final SplittableRandom random;
        final CountDownLatch ready;
        final CountDownLatch go;
        final AtomicReference<Throwable> failure;
        /** Written by the coordinator before {@code go} opens; the latch publishes it. */
        long deadline;
        long errors;
        int commandsPerIo;
        long sequentialLba;
        IoQueuePair qp;
        DmaBuffer[] buffers;
        long[] started;
        final int blocks = p.ioSize() / ns.blockSize();
        final long slots = ns.blockCount() / blocks;

        Worker(int index, CountDownLatch ready, CountDownLatch go, AtomicReference<Throwable> failure) {
            this.index = index;
            this.ready = ready;
            this.go = go;
            this.failure = failure;
            this.random = new SplittableRandom(p.seed() + index);
            this.sequentialLba = (slots / p.queuePairs()) * index * blocks;
            this.thread = Thread.ofPlatform().name("ferrum-perf-" + index).unstarted(this::run);
        }

        private void run() {
            try {
                // Known before the queue pair exists, which is sized by it: a pair splits an I/O at the controller's
                // per-command limit (MDTS), and both that and the block size are powers of two, so this is what
                // qp.commandsFor(ns, blocks) would say. (Blocks larger than the limit: the first I/O says so.)
                commandsPerIo = Math.toIntExact(Math.ceilDiv(p.ioSize(), ctrl.maxCommandBytes()));
                // Slots for queueDepth I/Os of commandsPerIo commands each (the controller may grant fewer).
                qp = ctrl.createQueuePair(QueuePairOptions.builder()
                        .depth((int) Math.min(65536, Math.max(2, (long) p.queueDepth() * commandsPerIo + 1)))
                        .completion(p.completion()).build());
                int depth = Math.min(p.queueDepth(), qp.capacity() / commandsPerIo);
                if (depth == 0) {
                    throw new IllegalArgumentException("an I/O of " + p.ioSize() + " bytes takes " + commandsPerIo
                            + " commands of at most " + qp.maxCommandBytes() + " bytes (MDTS), more than the "
                            + qp.capacity() + " a queue of this controller holds: use a smaller -o");
                }
                if (depth < p.queueDepth() && index == 0) {
                    out.printf("perf: queue depth %d instead of %d: each %d-byte I/O takes %d commands (MDTS) and "
                            + "a queue holds at most %d%n", depth, p.queueDepth(), p.ioSize(), commandsPerIo,
                            qp.capacity());
                }
                buffers = new DmaBuffer[depth];
                started = new long[depth];
                for (int i = 0; i < depth; i++) {
                    buffers[i] = ctrl.dmaPool().allocate(p.ioSize());
                    fill(buffers[i]);
                    qp.registerBuffer(buffers[i]); // pinned once, not per I/O
                }
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
                release();
                return;
            } finally {
                ready.countDown();
            }
            try {
                go.await();
                for (int i = 0; i < buffers.length; i++) {
                    submit(i);
                }
                while (System.nanoTime() < deadline && failure.get() == null) {
                    if (qp.processCompletions(Integer.MAX_VALUE) == 0 && p.completion()
                            == QueuePairOptions.Completion.INTERRUPT) {
                        qp.awaitCompletions(Duration.ofMillis(1));
                    }
                }
                deadline = 0; // stop resubmitting, drain
                long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (qp.outstanding() > 0 && System.nanoTime() < drainUntil) {
                    qp.awaitCompletions(Duration.ofMillis(10));
                }
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
            } catch (InterruptedException e) {
                failure.compareAndSet(null, e);
                Thread.currentThread().interrupt();
            } finally {
                release();
            }
        }

        /** Closes the queue pair (ending the buffers' registration), then frees the buffers the device is done with. */
        private void release() {
            try {
                if (qp != null) {
                    qp.close();
                }
            } finally {
                if (buffers != null) {
                    for (DmaBuffer b : buffers) {
                        if (b != null && b.pinCount() == 0) {
                            b.close();
                        }
                    }
                }
            }
        }

        private void fill(DmaBuffer b) {
            var seg = b.segment();
            for (long off = 0; off + 8 <= seg.byteSize(); off += 8) {
                seg.set(java.lang.foreign.ValueLayout.JAVA_LONG, off, random.nextLong());
            }
        }

        private void submit(int slot) {
            boolean read = switch (p.pattern()) {
                case READ, RANDREAD -> true;
                case WRITE, RANDWRITE -> false;
                case RW, RANDRW -> random.nextInt(100) < p.readPercent();
            };
            long lba;
            if (p.pattern() == Pattern.READ || p.pattern() == Pattern.WRITE || p.pattern() == Pattern.RW) {
                lba = sequentialLba;
                sequentialLba += blocks;
                if (sequentialLba + blocks > slots * blocks) {
                    sequentialLba = 0;
                }
            } else {
                lba = random.nextLong(slots) * blocks;
            }
            started[slot] = System.nanoTime();
            if (read) {
                qp.read(ns, lba, blocks, buffers[slot], this, slot);
            } else {
                qp.write(ns, lba, blocks, buffers[slot], this, slot);
            }
        }

        @Override
        public void complete(long tag, int status) {
            int slot = (int) tag;
            long now = System.nanoTime();
            histogram.recordValue(Math.min(now - started[slot], histogram.getHighestTrackableValue()));
            if (status != IoStatus.SUCCESS) {
                errors++;
                if (errors == 1) {
                    out.println("perf: I/O error: " + IoStatus.describe(status));
                }
            }
            completed.lazySet(completed.get() + 1);
            if (now < deadline) {
                submit(slot);
            }
        }
    }

    static void printSummary(PrintWriter out, Params p, Result r) {
        Histogram h = r.latencyNanos();
        out.printf("%n%s, %d B I/O%s, queue depth %d x %d queue pair(s), %s completion, %.1f s%n",
                p.pattern().name().toLowerCase(), p.ioSize(),
                r.commandsPerIo() > 1 ? " (" + r.commandsPerIo() + " commands each)" : "", r.queueDepth(),
                p.queuePairs(), p.completion().name().toLowerCase(), r.seconds());
        out.printf("  %,d I/Os  %,.0f IOPS  %.1f MiB/s  %d error(s)%n", r.ios(), r.iops(), r.mibPerSecond(),
                r.errors());
        out.printf("  latency (us): min %.1f  avg %.1f  max %.1f%n", h.getMinValue() / 1e3, h.getMean() / 1e3,
                h.getMaxValue() / 1e3);
        out.printf("  percentiles (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  p99.99 %.1f%n",
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getValueAtPercentile(99.99) / 1e3);
    }
}
