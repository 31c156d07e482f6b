package dev.ferrum.driver.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferrum.driver.testing.Await;
import dev.ferrum.driver.testing.TestThread;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WorkqueueTest {

    private final List<Workqueue> created = new ArrayList<>();

    private Workqueue queue(Workqueue.Builder b) {
        Workqueue q = b.build();
        created.add(q);
        return q;
    }

    @AfterEach
    void destroyQueues() {
        for (Workqueue q : created) {
            if (!q.isDestroyed()) {
                q.destroy();
            }
        }
    }

    /** Counts executions and the largest number running at once. */
    static final class Probe implements Runnable {
        final AtomicInteger runs = new AtomicInteger();
        final AtomicInteger inside = new AtomicInteger();
        final AtomicInteger maxInside = new AtomicInteger();
        private final Runnable body;

        Probe(Runnable body) {
            this.body = body;
        }

        Probe() {
            this(() -> { });
        }

        @Override
        public void run() {
            maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
            try {
                body.run();
            } finally {
                inside.decrementAndGet();
                runs.incrementAndGet();
            }
        }
    }

    private static void await(CountDownLatch latch) throws InterruptedException {
        assertTrue(latch.await(Await.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS), "timed out");
    }

    @Test
    void anEnqueuedItemRunsOnAWorkerOfTheQueue() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-run"));
        CountDownLatch ran = new CountDownLatch(1);
        AtomicReference<Thread> on = new AtomicReference<>();
        Work w = new Work("probe", () -> {
            on.set(Thread.currentThread());
            ran.countDown();
        });
        assertTrue(q.enqueue(w));
        await(ran);
        assertTrue(on.get().getName().startsWith("ferrum-wq-test-run-"), on.get().getName());
        assertTrue(on.get().isVirtual(), "builder queues default to virtual threads");
        assertEquals("probe", w.name());
        assertTrue(w.toString().contains("probe"));
    }

    @Test
    void enqueueOfAPendingItemReturnsFalse() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-pending").ordered());
        Gate gate = new Gate();
        Probe probe = new Probe();
        Work w = new Work(probe);
        assertTrue(q.enqueue(new Work(gate)));
        gate.awaitStarted(); // the only worker is busy: w stays pending
        try {
            assertTrue(q.enqueue(w));
            assertTrue(w.isPending());
            assertFalse(q.enqueue(w), "queue_work on a pending item returns false");
            assertFalse(q.enqueue(w));
            assertFalse(Workqueue.system().enqueue(w), "pending on one queue is pending everywhere");
        } finally {
            gate.open();
        }
        q.flush();
        assertEquals(1, probe.runs.get(), "the enqueues collapsed into one execution");
        assertFalse(w.isPending());
        assertTrue(q.enqueue(w), "after it ran it can be queued again");
        w.flush();
        assertEquals(2, probe.runs.get());
    }

    @Test
    void everySuccessfulEnqueueRunsExactlyOnceUnderRaces() {
        Workqueue q = queue(Workqueue.builder("test-race").maxActive(4));
        Probe probe = new Probe();
        Work w = new Work(probe);
        int threads = 4;
        int perThread = 20_000;
        AtomicInteger accepted = new AtomicInteger();
        CyclicBarrier start = new CyclicBarrier(threads);
        List<TestThread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            ts.add(TestThread.start("enqueuer-" + i, () -> {
                start.await();
                for (int j = 0; j < perThread; j++) {
                    if (q.enqueue(w)) {
                        accepted.incrementAndGet();
                    }
                }
            }));
        }
        ts.forEach(TestThread::join);
        w.flush();
        assertTrue(accepted.get() > 0);
        assertEquals(accepted.get(), probe.runs.get());
        assertEquals(1, probe.maxInside.get(), "an item never runs on two workers at once");
    }

    @Test
    void anItemQueuedWhileRunningRunsAgainAfterwardsNotConcurrently() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-rerun").maxActive(4));
        Gate gate = new Gate();
        AtomicInteger calls = new AtomicInteger();
        Probe probe = new Probe(() -> {
            if (calls.incrementAndGet() == 1) {
                gate.run();
            }
        });
        Work w = new Work(probe);
        assertTrue(q.enqueue(w));
        gate.awaitStarted();
        try {
            assertTrue(w.isRunning());
            assertFalse(w.isPending(), "pending is cleared before the function starts");
            assertTrue(q.enqueue(w), "so it can be queued again while it runs");
            assertTrue(w.isPending());
        } finally {
            gate.open();
        }
        w.flush();
        assertEquals(2, probe.runs.get());
        assertEquals(1, probe.maxInside.get());
    }

    @Test
    void anItemCanRequeueItselfFromItsFunction() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-self"));
        CountDownLatch five = new CountDownLatch(5);
        AtomicReference<Work> self = new AtomicReference<>();
        Work w = new Work(() -> {
            five.countDown();
            if (five.getCount() > 0) {
                assertTrue(q.enqueue(self.get()));
            }
        });
        self.set(w);
        q.enqueue(w);
        await(five);
        w.flush();
        assertFalse(w.isPending());
    }

    @Test
    void flushOfAnItemWaitsForItsRunningExecution() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-flush-item"));
        Gate gate = new Gate();
        AtomicBoolean finished = new AtomicBoolean();
        Work w = new Work(() -> {
            gate.run();
            finished.set(true);
        });
        assertFalse(w.flush(), "an idle item: nothing to wait for");
        q.enqueue(w);
        gate.awaitStarted();
        AtomicBoolean sawFinished = new AtomicBoolean();
        AtomicBoolean waited = new AtomicBoolean();
        TestThread flusher = TestThread.start("flusher", () -> {
            waited.set(w.flush());
            sawFinished.set(finished.get());
        });
        Await.parked(flusher.thread());
        assertTrue(flusher.thread().isAlive(), "flush must wait while the function runs");
        gate.open();
        flusher.join();
        assertTrue(waited.get());
        assertTrue(sawFinished.get(), "flush returned only after the function had finished");
    }

    @Test
    void flushOfAQueueWaitsForEverythingQueuedBefore() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-flush-queue").maxActive(3));
        Gate gate = new Gate();
        AtomicInteger done = new AtomicInteger();
        List<Work> items = new ArrayList<>();
        items.add(new Work(() -> {
            gate.run();
            done.incrementAndGet();
        }));
        for (int i = 0; i < 9; i++) {
            items.add(new Work(done::incrementAndGet));
        }
        items.forEach(q::enqueue);
        gate.awaitStarted();
        AtomicInteger doneAtReturn = new AtomicInteger(-1);
        TestThread flusher = TestThread.start("queue-flusher", () -> {
            q.flush();
            doneAtReturn.set(done.get());
        });
        Await.parked(flusher.thread());
        assertTrue(flusher.thread().isAlive());
        gate.open();
        flusher.join();
        assertEquals(10, doneAtReturn.get());
    }

    @Test
    void cancelOfAPendingItemMeansItNeverRuns() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-cancel").ordered());
        Gate gate = new Gate();
        Probe probe = new Probe();
        Work w = new Work(probe);
        assertFalse(w.cancel(), "nothing pending");
        q.enqueue(new Work(gate));
        gate.awaitStarted();
        try {
            assertTrue(q.enqueue(w));
            assertTrue(w.cancel());
            assertFalse(w.isPending());
            assertFalse(w.cancel());
            assertFalse(w.flush(), "a cancelled item is idle");
        } finally {
            gate.open();
        }
        q.flush();
        assertEquals(0, probe.runs.get());
        assertTrue(q.enqueue(w), "a cancelled item can be queued again");
        w.flush();
        assertEquals(1, probe.runs.get());
    }

    @Test
    void cancelSyncWaitsForTheRunningExecutionAndRefusesEnqueuesMeanwhile() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-cancel-sync"));
        Gate gate = new Gate();
        Probe probe = new Probe(gate);
        Work w = new Work(probe);
        q.enqueue(w);
        gate.awaitStarted();
        AtomicBoolean result = new AtomicBoolean(true);
        AtomicBoolean runningAtReturn = new AtomicBoolean(true);
        TestThread canceller = TestThread.start("canceller", () -> {
            result.set(w.cancelSync());
            runningAtReturn.set(w.isRunning());
        });
        Await.parked(canceller.thread());
        assertTrue(canceller.thread().isAlive(), "cancelSync waits for the running execution");
        assertFalse(q.enqueue(w), "enqueue fails while cancelSync is in progress");
        gate.open();
        canceller.join();
        assertFalse(result.get(), "nothing was pending: the execution was already running");
        assertFalse(runningAtReturn.get());
        assertEquals(1, probe.runs.get());
        assertTrue(q.enqueue(w), "after cancelSync returns the item can be queued again");
        w.flush();
        assertEquals(2, probe.runs.get());
    }

    @Test
    void cancelSyncCancelsAPendingExecution() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-cancel-sync-pending").ordered());
        Gate gate = new Gate();
        Probe probe = new Probe();
        Work w = new Work(probe);
        q.enqueue(new Work(gate));
        gate.awaitStarted();
        try {
            q.enqueue(w);
            assertTrue(w.cancelSync());
            assertFalse(w.isPending());
        } finally {
            gate.open();
        }
        q.flush();
        assertEquals(0, probe.runs.get());
    }

    @Test
    void cancelSyncStopsAnItemThatRequeuesItself() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-cancel-loop").maxActive(2));
        AtomicReference<Work> self = new AtomicReference<>();
        CountDownLatch warm = new CountDownLatch(100);
        Probe probe = new Probe(() -> {
            warm.countDown();
            q.enqueue(self.get());
        });
        Work w = new Work(probe);
        self.set(w);
        q.enqueue(w);
        await(warm);
        w.cancelSync();
        assertFalse(w.isPending());
        assertFalse(w.isRunning());
        int runs = probe.runs.get();
        q.flush();
        assertEquals(runs, probe.runs.get(), "no execution after cancelSync returned");
    }

    @Test
    void aThrowingWorkFunctionIsCountedAndTheWorkerCarriesOn() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-throw").ordered());
        Probe good = new Probe();
        q.enqueue(new Work("throws-runtime", () -> {
            throw new IllegalStateException("deliberate failure in a work function");
        }));
        q.enqueue(new Work("throws-error", () -> {
            throw new AssertionError("deliberate error in a work function");
        }));
        q.enqueue(new Work(good));
        q.flush();
        assertEquals(1, good.runs.get(), "the items after the failing ones still ran");
        assertEquals(2, q.failures());
    }

    @Test
    void anInterruptLeftByAWorkFunctionDoesNotReachTheNextItem() {
        Workqueue q = queue(Workqueue.builder("test-interrupt").ordered());
        AtomicBoolean nextSawInterrupt = new AtomicBoolean(true);
        q.enqueue(new Work(() -> Thread.currentThread().interrupt()));
        q.enqueue(new Work(() -> nextSawInterrupt.set(Thread.currentThread().isInterrupted())));
        q.flush();
        assertFalse(nextSawInterrupt.get());
    }

    @Test
    void anOrderedQueueRunsOneItemAtATimeInQueueingOrder() {
        Workqueue q = queue(Workqueue.builder("test-ordered").ordered());
        assertTrue(q.isOrdered());
        assertEquals(1, q.maxActive());
        List<Integer> order = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        int n = 200;
        List<Work> items = IntStream.range(0, n).mapToObj(i -> new Work(() -> {
            maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
            order.add(i);
            Thread.yield();
            inside.decrementAndGet();
        })).toList();
        items.forEach(q::enqueue);
        q.flush();
        assertEquals(IntStream.range(0, n).boxed().toList(), order);
        assertEquals(1, maxInside.get());
    }

    @Test
    void anOrderedQueueKeepsFifoOrderWhenItsItemIsStillRunningOnAnotherQueue() throws InterruptedException {
        Workqueue other = queue(Workqueue.builder("test-other").maxActive(2));
        // Platform threads (highPriority) so the test can watch the ordered queue's worker thread.
        Workqueue ordered = queue(Workqueue.builder("test-ordered-deferred").ordered().highPriority());
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        Gate gate = new Gate();
        AtomicInteger calls = new AtomicInteger();
        AtomicInteger inside = new AtomicInteger();
        Work shared = new Work(() -> {
            int n = calls.incrementAndGet();
            assertEquals(1, inside.incrementAndGet(), "an item never runs on two threads at once");
            try {
                events.add("shared#" + n + " start");
                if (n == 1) {
                    gate.run();
                }
                events.add("shared#" + n + " end");
            } finally {
                inside.decrementAndGet();
            }
        });
        Work next = new Work(() -> events.add("next"));

        assertTrue(other.enqueue(shared));
        gate.awaitStarted(); // shared#1 runs on the other queue's worker, held at the gate
        assertTrue(ordered.enqueue(shared), "not pending while it runs, so it can be queued again");
        assertTrue(ordered.enqueue(next));
        Await.until("the ordered queue to defer the shared item behind its running execution",
                () -> (shared.state() & WorkItem.RERUN) != 0);
        Thread worker = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("ferrum-wq-test-ordered-deferred-1")).findFirst().orElseThrow();
        Await.parked(worker); // the next item would run here, before the worker parks, if order were not kept
        assertEquals(List.of("shared#1 start"), events, "the next item must wait for the deferred execution");

        TestThread destroyer = TestThread.start("destroyer", () -> {
            ordered.destroy();
            events.add("destroyed");
        });
        Await.parked(destroyer.thread());
        assertFalse(ordered.isDestroyed(), "destroy() waits for the execution deferred to the other queue");
        gate.open();
        destroyer.join();
        assertEquals(List.of("shared#1 start", "shared#1 end", "shared#2 start", "shared#2 end", "next",
                "destroyed"), events);
    }

    @Test
    void maxActiveLimitsHowManyItemsRunAtOnce() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-max-active").maxActive(2));
        Gate gate = new Gate(2);
        List<Probe> probes = IntStream.range(0, 6).mapToObj(i -> new Probe(gate)).toList();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        for (Probe p : probes) {
            q.enqueue(new Work(() -> {
                maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                try {
                    p.run();
                } finally {
                    inside.decrementAndGet();
                }
            }));
        }
        gate.awaitStarted(); // two run and block: the limit has been reached
        gate.open();
        q.flush();
        assertEquals(2, maxInside.get());
        probes.forEach(p -> assertEquals(1, p.runs.get()));
    }

    @Test
    void destroyDrainsChainedWorkThenRefusesEverything() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-destroy"));
        Gate gate = new Gate();
        Probe chained = new Probe();
        Work second = new Work(chained);
        AtomicBoolean chainAccepted = new AtomicBoolean();
        q.enqueue(new Work(() -> {
            gate.run();
            chainAccepted.set(q.enqueue(second)); // own work may queue while the queue drains
        }));
        gate.awaitStarted();
        TestThread destroyer = TestThread.start("destroyer", q::destroy);
        Await.until("the queue to start draining", () -> q.toString().contains("draining"));
        IllegalStateException outside = assertThrows(IllegalStateException.class, () -> q.enqueue(new Work(() -> { })));
        assertTrue(outside.getMessage().contains("being destroyed"), outside.getMessage());
        gate.open();
        destroyer.join();
        assertTrue(chainAccepted.get());
        assertEquals(1, chained.runs.get(), "chained work ran before destroy returned");
        assertTrue(q.isDestroyed());
        IllegalStateException after = assertThrows(IllegalStateException.class, () -> q.enqueue(new Work(() -> { })));
        assertTrue(after.getMessage().contains("destroyed"), after.getMessage());
        assertThrows(IllegalStateException.class, q::destroy);
        assertFalse(second.isPending());
    }

    @Test
    void waitingForYourselfThrowsInsteadOfDeadlocking() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-self-wait"));
        List<Class<?>> errors = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Work> self = new AtomicReference<>();
        Work w = new Work(() -> {
            for (Runnable r : List.<Runnable>of(() -> self.get().flush(), () -> self.get().cancelSync(), q::flush,
                    q::destroy)) {
                try {
                    r.run();
                } catch (IllegalStateException e) {
                    errors.add(e.getClass());
                }
            }
            done.countDown();
        });
        self.set(w);
        q.enqueue(w);
        await(done);
        assertEquals(4, errors.size(), "flush, cancelSync, queue flush and destroy from inside must throw");
    }

    @Test
    void theSystemQueuesExistAndRunWork() throws InterruptedException {
        List<Workqueue> system = List.of(Workqueue.system(), Workqueue.systemHighPri(), Workqueue.systemLong(),
                Workqueue.systemUnbound());
        assertEquals(List.of("events", "events_highpri", "events_long", "events_unbound"),
                system.stream().map(Workqueue::name).toList());
        assertEquals(4, system.stream().distinct().count());
        assertEquals(Workqueue.DEFAULT_MAX_ACTIVE, Workqueue.system().maxActive());
        assertEquals(Workqueue.MAX_ACTIVE_LIMIT, Workqueue.systemUnbound().maxActive());
        for (Workqueue q : system) {
            AtomicReference<Thread> on = new AtomicReference<>();
            CountDownLatch ran = new CountDownLatch(1);
            assertTrue(q.enqueue(new Work(() -> {
                on.set(Thread.currentThread());
                ran.countDown();
            })));
            await(ran);
            boolean highpri = q == Workqueue.systemHighPri();
            assertEquals(highpri, q.isHighPriority());
            assertEquals(!highpri, on.get().isVirtual(), q.name());
            if (highpri) {
                assertEquals(Thread.MAX_PRIORITY, on.get().getPriority());
                assertTrue(on.get().isDaemon());
            }
            assertThrows(UnsupportedOperationException.class, q::destroy);
            q.flush();
        }
        assertNotSame(Workqueue.system(), Workqueue.systemUnbound());
    }

    @Test
    void theBuilderValidatesItsSettings() {
        assertThrows(IllegalArgumentException.class, () -> Workqueue.builder(" "));
        assertThrows(NullPointerException.class, () -> Workqueue.builder(null));
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> Workqueue.builder("x").maxActive(0));
        assertTrue(zero.getMessage().contains("0"), zero.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Workqueue.builder("x").maxActive(513));
        assertThrows(IllegalStateException.class, () -> Workqueue.builder("x").ordered().maxActive(2).build());
        Workqueue hp = queue(Workqueue.builder("test-hp").highPriority().maxActive(3));
        assertTrue(hp.isHighPriority());
        assertEquals(3, hp.maxActive());
        assertThrows(NullPointerException.class, () -> hp.enqueue((Work) null));
        assertThrows(NullPointerException.class, () -> new Work(null));
    }

    @Test
    void aHighPriorityQueueRunsOnDedicatedPlatformThreads() throws InterruptedException {
        Workqueue q = queue(Workqueue.builder("test-hp-run").highPriority());
        AtomicReference<Thread> on = new AtomicReference<>();
        CountDownLatch ran = new CountDownLatch(1);
        q.enqueue(new Work(() -> {
            on.set(Thread.currentThread());
            ran.countDown();
        }));
        await(ran);
        assertFalse(on.get().isVirtual());
        assertEquals(Thread.MAX_PRIORITY, on.get().getPriority());
    }
}
