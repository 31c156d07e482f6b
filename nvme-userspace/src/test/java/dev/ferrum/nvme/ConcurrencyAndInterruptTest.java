package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.sys.nvme.Nvme;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConcurrencyAndInterruptTest {

    /** Each thread owns a region of the namespace and a queue pair; every block is checked at the end. */
    @Test
    void queuePairPerThreadFromSeveralThreads() throws Exception {
        try (TestBed t = new TestBed(TestBed.config(4096).build(), o -> o.ioQueues(4))) {
            Namespace ns = t.ns();
            int threads = 4;
            long region = ns.blockCount() / threads;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                final int id = i;
                results.add(pool.submit(() -> {
                    int ios = 0;
                    try (IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer w = t.buffer(16 * 4096);
                         DmaBuffer r = t.buffer(16 * 4096)) {
                        SplittableRandom random = new SplittableRandom(id);
                        for (int k = 0; k < 200; k++) {
                            int blocks = 1 + random.nextInt(16);
                            long lba = id * region + random.nextLong(region - blocks);
                            TestBed.fill(w.segment(), random.nextLong());
                            qp.write(ns, lba, blocks, w);
                            qp.read(ns, lba, blocks, r);
                            long n = (long) blocks * 4096;
                            if (w.segment().asSlice(0, n).mismatch(r.segment().asSlice(0, n)) != -1) {
                                throw new AssertionError("thread " + id + ": data mismatch at LBA " + lba);
                            }
                            ios += 2;
                        }
                    }
                    return ios;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(threads * 400, total);
            assertEquals(threads * 200L, t.mock.ioCommandsReceived(Nvme.NVME_CMD_WRITE()));
        }
    }

    /** One shared, interrupt-driven queue pair used by several threads at once through futures. */
    @Test
    void sharedInterruptDrivenPairCompletesWithoutPolling() throws Exception {
        try (TestBed t = new TestBed()) {
            IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder()
                    .threading(QueuePairOptions.Threading.SHARED)
                    .completion(QueuePairOptions.Completion.INTERRUPT).build());
            Namespace ns = t.ns();
            DmaBuffer buf = t.buffer(64 * 4096);
            AtomicInteger completions = new AtomicInteger();
            List<CompletableFuture<Void>> all = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> submitters = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                final int id = i;
                submitters.add(pool.submit(() -> {
                    for (int k = 0; k < 16; k++) {
                        int slot = id * 16 + k;
                        CompletableFuture<Void> f = qp.writeAsync(ns, slot * 8L, 8, buf.slice(slot * 4096L, 4096))
                                .whenComplete((v, e) -> completions.incrementAndGet());
                        synchronized (all) {
                            all.add(f);
                        }
                    }
                }));
            }
            for (Future<?> s : submitters) {
                s.get(30, TimeUnit.SECONDS);
            }
            // Nobody polls: the MSI-X vector's bottom half on a workqueue completes them.
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertEquals(64, completions.get());
            assertTrue(t.mock.interruptsRaised() > 0);
            assertEquals(0, buf.pinCount());
            pool.shutdown();
            qp.close();
            buf.close();
        }
    }

    @Test
    void sharedPollingPairCompletesAsyncWorkInTheBackground() throws Exception {
        try (TestBed t = new TestBed(TestBed.config(512).build(), o -> o.interrupts(false))) {
            IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder()
                    .threading(QueuePairOptions.Threading.SHARED).build());
            try (DmaBuffer buf = t.buffer(4096)) {
                qp.writeAsync(t.ns(), 0, 8, buf).get(30, TimeUnit.SECONDS);
                qp.readAsync(t.ns(), 0, 8, buf).get(30, TimeUnit.SECONDS);
            }
            qp.close();
        }
    }

    @Test
    void ownerPairInInterruptModeSleepsOnItsVector() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder()
                .completion(QueuePairOptions.Completion.INTERRUPT).build()); DmaBuffer buf = t.buffer(4096)) {
            long before = t.mock.interruptsRaised();
            for (int i = 0; i < 20; i++) {
                buf.segment().set(ValueLayout.JAVA_INT, 0, i);
                qp.write(t.ns(), i, 1, buf);
                qp.read(t.ns(), i, 1, buf);
                assertEquals(i, buf.segment().get(ValueLayout.JAVA_INT, 0));
            }
            assertTrue(t.mock.interruptsRaised() > before, "the queue's completions raised its MSI-X vector");
        }
    }

    @Test
    void lostInterruptsDelayButDoNotLoseCompletions() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder()
                .completion(QueuePairOptions.Completion.INTERRUPT).build()); DmaBuffer buf = t.buffer(4096)) {
            t.mockBus.dropInterrupts(TestBed.ADDRESS, 5);
            for (int i = 0; i < 10; i++) {
                qp.write(t.ns(), i, 1, buf);
            }
            assertEquals(0, qp.outstanding());
            assertEquals(0, qp.awaitCompletions(Duration.ofMillis(50)), "nothing left to complete");
        }
    }

    @Test
    void namespaceConvenienceApiFromManyThreads() throws Exception {
        try (TestBed t = new TestBed()) {
            Namespace ns = t.ns();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                final int id = i;
                fs.add(pool.submit(() -> {
                    try (DmaBuffer b = t.buffer(4096)) {
                        for (int k = 0; k < 25; k++) {
                            b.segment().set(ValueLayout.JAVA_LONG, 0, id * 1000L + k);
                            ns.write(id * 100L + k, 1, b);
                            b.segment().set(ValueLayout.JAVA_LONG, 0, -1);
                            ns.readAsync(id * 100L + k, 1, b).get(30, TimeUnit.SECONDS);
                            assertEquals(id * 1000L + k, b.segment().get(ValueLayout.JAVA_LONG, 0));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            ns.close();
        }
    }
}
