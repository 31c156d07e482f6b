package dev.ferrum.bench;

import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Deferred work: {@link Workqueue} against {@link ThreadPoolExecutor} and {@link ForkJoinPool}, each with two
 * workers (the machine's core count). {@code executor} selects the implementation:
 * {@code workqueue} (a driver's own queue, {@code Workqueue.builder(..).maxActive(2)}: virtual-thread workers),
 * {@code workqueueHighPri} (the same with {@code highPriority()}: dedicated platform threads, the queue for
 * completion bottom halves), {@code threadPool} ({@code ThreadPoolExecutor}, 2 core threads,
 * {@code LinkedBlockingQueue}), {@code threadPoolVirtual} (the same with virtual-thread workers: a diagnostic that
 * separates what virtual threads cost from what {@code Workqueue} costs) and {@code forkJoin}
 * ({@code new ForkJoinPool(2)}).
 *
 * <ul>
 *   <li>{@code latency}: enqueue one item and busy-wait until it has run (a volatile flag it sets): the
 *       enqueue-to-run round trip through an idle pool, a parked worker woken each time.</li>
 *   <li>{@code throughput}: enqueue 256 distinct items, then wait (parked) until all have run; the score is per
 *       item. The tasks are preallocated ({@code Work} items are embedded objects; the executors get
 *       preallocated {@code Runnable}s), so what is measured is queueing, waking and running.</li>
 * </ul>
 *
 * <p>Invariants: each executor state owns its pool and destroys it at tear-down; a work item is never enqueued
 * while it is still pending (each one ran before the next invocation).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class WorkqueueBench {
    static final int BATCH = 256;

    /** One executor under test, with its tasks. */
    @State(Scope.Thread)
    public static class Pool {
        @Param({"workqueue", "workqueueHighPri", "threadPool", "threadPoolVirtual", "forkJoin"})
        public String executor;

        private Workqueue wq;
        private ExecutorService pool;
        private Work latencyWork;
        private final Work[] batchWork = new Work[BATCH];
        private Runnable latencyTask;
        private final Runnable[] batchTasks = new Runnable[BATCH];
        private final AtomicInteger remaining = new AtomicInteger();
        private volatile Thread waiter;
        private volatile long posted;
        private volatile long ran;
        private long seq;

        @Setup
        public void setup() {
            latencyTask = () -> ran = posted;
            Runnable batchItem = () -> {
                if (remaining.decrementAndGet() == 0) {
                    LockSupport.unpark(waiter);
                }
            };
            for (int i = 0; i < BATCH; i++) {
                batchTasks[i] = batchItem::run; // distinct objects, as distinct work would be
            }
            switch (executor) {
                case "workqueue" -> wq = Workqueue.builder("bench").maxActive(2).build();
                case "workqueueHighPri" -> wq = Workqueue.builder("bench-hi").maxActive(2).highPriority().build();
                case "threadPool" -> pool = new ThreadPoolExecutor(2, 2, 10, TimeUnit.SECONDS,
                        new LinkedBlockingQueue<>());
                case "threadPoolVirtual" -> pool = new ThreadPoolExecutor(2, 2, 10, TimeUnit.SECONDS,
                        new LinkedBlockingQueue<>(), Thread.ofVirtual().factory());
                case "forkJoin" -> pool = new ForkJoinPool(2);
                default -> throw new IllegalArgumentException("unknown executor " + executor);
            }
            if (wq != null) {
                latencyWork = new Work("bench.latency", latencyTask);
                for (int i = 0; i < BATCH; i++) {
                    batchWork[i] = new Work("bench.batch", batchTasks[i]);
                }
            }
        }

        @TearDown
        public void tearDown() throws InterruptedException {
            if (wq != null) {
                wq.destroy();
            } else {
                pool.shutdown();
                if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException(executor + " did not terminate");
                }
            }
        }

        long roundTrip() {
            long s = ++seq;
            posted = s;
            if (wq != null) {
                wq.enqueue(latencyWork);
            } else {
                pool.execute(latencyTask);
            }
            while (ran != s) {
                Thread.onSpinWait();
            }
            return s;
        }

        int batch() {
            waiter = Thread.currentThread();
            remaining.set(BATCH);
            if (wq != null) {
                for (Work w : batchWork) {
                    wq.enqueue(w);
                }
            } else {
                for (Runnable r : batchTasks) {
                    pool.execute(r);
                }
            }
            while (remaining.get() != 0) {
                LockSupport.park(this);
            }
            return BATCH;
        }
    }

    @Benchmark
    public long latency(Pool p) {
        return p.roundTrip();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int throughput(Pool p) {
        return p.batch();
    }
}
