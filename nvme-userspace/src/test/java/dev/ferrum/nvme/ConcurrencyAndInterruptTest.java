package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.sys.nvme.Nvme;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConcurrencyAndInterruptTest {

    /**
     * Options under which only an interrupt can complete a command in time: the watchdog (which reaps shared pairs)
     * and the poll fallback of waiting threads are an hour away. A test using them fails (by its timeout) if
     * interrupts are not delivered to the right handler.
     */
    static final UnaryOperator<NvmeOptions.Builder> INTERRUPTS_ONLY =
            o -> o.watchdogPeriod(Duration.ofHours(1)).interruptFallback(Duration.ofHours(1));

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
        try (TestBed t = new TestBed(TestBed.config(512).build(), INTERRUPTS_ONLY)) {
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
            assertTrue(qp.interruptsHandled() > 0, "the pair's interrupt handler ran");
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

    /** Without the interrupt, each wait would last the hour-long fallback and the timeout would fail the test. */
    @Test
    @Timeout(30)
    void ownerPairInInterruptModeSleepsOnItsVector() {
        try (TestBed t = new TestBed(TestBed.config(512).build(), INTERRUPTS_ONLY); IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder()
                .completion(QueuePairOptions.Completion.INTERRUPT).build()); DmaBuffer buf = t.buffer(4096)) {
            long before = t.mock.interruptsRaised();
            for (int i = 0; i < 20; i++) {
                buf.segment().set(ValueLayout.JAVA_INT, 0, i);
                qp.write(t.ns(), i, 1, buf);
                qp.read(t.ns(), i, 1, buf);
                assertEquals(i, buf.segment().get(ValueLayout.JAVA_INT, 0));
            }
            assertTrue(t.mock.interruptsRaised() > before, "the queue's completions raised its MSI-X vector");
            assertTrue(qp.interruptsHandled() > 0, "the pair's interrupt handler woke its owner");
        }
    }

    /**
     * Two vectors, four pairs: all I/O pairs share vector 1. Every pair's commands complete by interrupt, and
     * closing some pairs leaves the others' handlers in place.
     */
    @Test
    @Timeout(120)
    void pairsSharingAVectorEachGetTheirInterrupts() throws Exception {
        try (TestBed t = fourPairsOn(2); DmaBuffer buf = t.buffer(64 * 4096)) {
            List<IoQueuePair> shared = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                shared.add(t.ctrl.createQueuePair(sharedInterrupt()));
            }
            OwnerWorkload owner = new OwnerWorkload(t, 3);
            writeOnEach(t, shared, buf, 0);
            for (IoQueuePair qp : shared) {
                assertTrue(qp.interruptsHandled() > 0, qp + ": its handler ran");
            }
            // Close two while the third and the owner-thread pair keep working.
            shared.removeFirst().close();
            shared.removeFirst().close();
            writeOnEach(t, shared, buf, 1);
            assertTrue(owner.stop() > 0, "the owner-thread pair on the shared vector got its interrupts");
            shared.getFirst().close();
        }
    }

    /**
     * One vector for everything: the admin queue and every I/O pair share vector 0. Closing pairs must leave the
     * admin queue's handler: an asynchronous event (reaped only by that handler's bottom half, the watchdog being
     * an hour away) still arrives, and the other pairs still complete by interrupt.
     */
    @Test
    @Timeout(120)
    void oneVectorSharedWithTheAdminQueueSurvivesClosingPairs() throws Exception {
        try (TestBed t = fourPairsOn(1); DmaBuffer buf = t.buffer(64 * 4096)) {
            CompletableFuture<AsyncEvent> event = new CompletableFuture<>();
            t.ctrl.onAsyncEvent(event::complete);
            IoQueuePair a = t.ctrl.createQueuePair(sharedInterrupt());
            IoQueuePair b = t.ctrl.createQueuePair(sharedInterrupt());
            OwnerWorkload owner = new OwnerWorkload(t, 2);
            writeOnEach(t, List.of(a, b), buf, 0);
            a.close(); // while b and the owner-thread pair run
            writeOnEach(t, List.of(b), buf, 1);
            t.mock.postAsyncEvent(AsyncEvent.TYPE_NOTICE, 0x02, 0x04);
            assertEquals(AsyncEvent.TYPE_NOTICE, event.get(30, TimeUnit.SECONDS).type(),
                    "the admin queue's handler survived closing a pair on its vector");
            assertTrue(owner.stop() > 0);
            t.ctrl.getFeature(0x07); // admin commands still complete (an exception otherwise)
            b.close();
        }
    }

    /** A controller asking for four I/O queue pairs with only {@code vectors} MSI-X vectors, interrupts only. */
    private static TestBed fourPairsOn(int vectors) {
        TestBed t = new TestBed(TestBed.config(512).msixVectors(vectors).build(),
                o -> INTERRUPTS_ONLY.apply(o).ioQueues(4));
        assertEquals(vectors, t.ctrl.interruptVectors());
        return t;
    }

    /** An owner-thread interrupt pair doing I/O on a thread of its own until stopped. */
    private static final class OwnerWorkload {
        private final ExecutorService thread = Executors.newSingleThreadExecutor();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Future<Long> result;

        OwnerWorkload(TestBed t, int lbaBase) {
            result = thread.submit(() -> ownerPairWorkload(t, stop, lbaBase));
        }

        /** {@return the interrupts the pair's handler saw} */
        long stop() throws Exception {
            stop.set(true);
            try {
                return result.get(60, TimeUnit.SECONDS);
            } finally {
                thread.shutdown();
            }
        }
    }

    @Test
    void interruptFallbackMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NvmeOptions.builder().interruptFallback(Duration.ZERO));
        assertEquals("interrupt fallback period PT0S is not positive", e.getMessage());
        assertThrows(NullPointerException.class, () -> NvmeOptions.builder().interruptFallback(null));
    }

    private static QueuePairOptions sharedInterrupt() {
        return QueuePairOptions.builder().threading(QueuePairOptions.Threading.SHARED)
                .completion(QueuePairOptions.Completion.INTERRUPT).build();
    }

    /** Writes 8 blocks through each pair's futures; nobody polls, so only interrupts complete them. */
    private static void writeOnEach(TestBed t, List<IoQueuePair> pairs, DmaBuffer buf, int round) throws Exception {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            for (int k = 0; k < 8; k++) {
                int slot = (i * 8 + k) % 64;
                all.add(pairs.get(i).writeAsync(t.ns(), 1000L + round * 512L + slot * 8L, 8,
                        buf.slice(slot * 4096L, 4096)));
            }
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    }

    /**
     * On the calling thread: an owner-thread interrupt pair writing and reading until {@code stop}, at least a few
     * rounds. {@return the interrupts its handler saw}
     */
    private static long ownerPairWorkload(TestBed t, AtomicBoolean stop, int lbaBase) {
        try (IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder()
                .completion(QueuePairOptions.Completion.INTERRUPT).build()); DmaBuffer b = t.buffer(4096)) {
            for (int i = 0; i < 5 || !stop.get(); i++) {
                b.segment().set(ValueLayout.JAVA_INT, 0, i);
                qp.write(t.ns(), 10_000L * lbaBase + i % 1000, 1, b);
                b.segment().set(ValueLayout.JAVA_INT, 0, -1);
                qp.read(t.ns(), 10_000L * lbaBase + i % 1000, 1, b);
                assertEquals(i, b.segment().get(ValueLayout.JAVA_INT, 0));
            }
            return qp.interruptsHandled();
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
