package dev.ferrum.driver.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferrum.driver.testing.Await;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DelayedWorkTest {

    private static final Duration LONG = Duration.ofHours(1);

    private Workqueue q;
    private final AtomicInteger runs = new AtomicInteger();
    private final CountDownLatch ran = new CountDownLatch(1);
    private final DelayedWork dw = new DelayedWork("delayed-probe", () -> {
        runs.incrementAndGet();
        ran.countDown();
    });

    @BeforeEach
    void createQueue() {
        q = Workqueue.builder("test-delayed").ordered().build();
    }

    @AfterEach
    void destroyQueue() {
        if (!q.isDestroyed()) {
            q.destroy();
        }
    }

    @Test
    void itRunsAfterTheDelay() throws InterruptedException {
        assertTrue(q.enqueue(dw, Duration.ofMillis(20)));
        assertTrue(ran.await(Await.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS));
        dw.flush();
        assertEquals(1, runs.get());
        assertFalse(dw.isPending());
    }

    @Test
    void itIsPendingWhileTheTimerIsArmed() {
        assertTrue(q.enqueue(dw, LONG));
        assertTrue(dw.isPending());
        assertTrue(dw.isTimerArmed());
        assertFalse(q.enqueue(dw, Duration.ofMillis(1)), "a pending delayed item is not re-armed");
        assertFalse(Workqueue.system().enqueue(dw, Duration.ZERO));
        assertTrue(dw.cancel());
        assertFalse(dw.isPending());
        assertFalse(dw.isTimerArmed());
        assertFalse(dw.cancel());
        // That a cancelled timer never fires is shown with a short delay in the next test.
    }

    @Test
    void aCancelledTimerNeverFiresWhileAnUncancelledOneDoes() throws InterruptedException {
        Duration delay = Duration.ofMillis(20);
        long armedAt;
        for (int attempt = 1; ; attempt++) {
            armedAt = System.nanoTime();
            assertTrue(q.enqueue(dw, delay));
            boolean cancelled = dw.cancel();
            if (System.nanoTime() - armedAt < delay.toNanos()) {
                assertTrue(cancelled, "cancelled before the delay elapsed");
                break;
            }
            // This thread stalled past the delay (a busy machine): the timer may have fired first, which is not
            // what this test is about. Clean up and try again.
            dw.cancelSync();
            q.flush();
            runs.set(0);
            assertTrue(attempt < 20, "could not cancel within " + delay + " in 20 attempts");
        }
        assertFalse(dw.isPending());

        // Control: an item armed with the same delay and not cancelled does run.
        CountDownLatch controlRan = new CountDownLatch(1);
        assertTrue(q.enqueue(new DelayedWork("control", controlRan::countDown), delay));
        assertTrue(controlRan.await(Await.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS), "the uncancelled item ran");

        long waitUntil = armedAt + TimeUnit.MILLISECONDS.toNanos(200); // ten times the delay
        for (long left; (left = waitUntil - System.nanoTime()) > 0; ) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
        q.flush();
        assertEquals(0, runs.get(), "the cancelled item never ran, well past its delay");
        assertFalse(dw.isPending());
    }

    @Test
    void cancelWorksAfterTheTimerMovedItToTheQueue() throws InterruptedException {
        Gate gate = new Gate();
        q.enqueue(new Work(gate));
        gate.awaitStarted(); // the ordered queue's worker is busy
        try {
            assertTrue(q.enqueue(dw, Duration.ofMillis(1)));
            Await.until("the timer to expire", () -> !dw.isTimerArmed());
            assertTrue(dw.isPending(), "queued behind the gate");
            assertTrue(dw.cancel());
        } finally {
            gate.open();
        }
        q.flush();
        assertEquals(0, runs.get());
    }

    @Test
    void flushRunsAnArmedItemNow() {
        assertTrue(q.enqueue(dw, LONG));
        assertTrue(dw.flush());
        assertEquals(1, runs.get());
        assertFalse(dw.isPending());
        assertFalse(dw.flush());
    }

    @Test
    void cancelSyncDisarmsTheTimer() {
        assertTrue(q.enqueue(dw, LONG));
        assertTrue(dw.cancelSync());
        assertFalse(dw.isPending());
        assertTrue(q.enqueue(dw, Duration.ZERO), "zero delay queues at once");
        dw.flush();
        assertEquals(1, runs.get());
    }

    @Test
    void destroyRunsArmedItemsInsteadOfDroppingThem() {
        assertTrue(q.enqueue(dw, LONG));
        q.destroy();
        assertEquals(1, runs.get());
        assertFalse(dw.isPending());
        assertThrows(IllegalStateException.class, () -> q.enqueue(dw, LONG));
        assertFalse(dw.isPending(), "a refused enqueue leaves the item idle");
    }

    @Test
    void aNegativeDelayIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> q.enqueue(dw, Duration.ofMillis(-1)));
        assertTrue(e.getMessage().contains("negative"), e.getMessage());
        assertThrows(NullPointerException.class, () -> q.enqueue(dw, null));
        assertFalse(dw.isPending());
    }
}
