package dev.ferrum.driver.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferrum.driver.testing.Await;
import dev.ferrum.driver.testing.TestThread;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class CondVarTest {

    /** The state a condition is about: protected by the lock under test. */
    static final class State {
        final ArrayDeque<Integer> queue = new ArrayDeque<>();
        int waiting;
        boolean go;
        int tokens;
    }

    @ParameterizedTest
    @EnumSource(LockTest.Kind.class)
    void aConsumerWaitsForEveryItemAProducerPublishes(LockTest.Kind kind) {
        Lock<State, ?> lock = kind.create(new State());
        CondVar notEmpty = new CondVar();
        int items = 2_000;
        List<Integer> received = new ArrayList<>();
        TestThread consumer = TestThread.start("consumer", () -> {
            while (received.size() < items) {
                try (Guard<State> g = lock.lock()) {
                    while (g.get().queue.isEmpty()) {
                        notEmpty.await(g);
                        assertTrue(g.isHeld(), "await returns with the lock held");
                    }
                    received.add(g.get().queue.poll());
                }
            }
        });
        for (int i = 0; i < items; i++) {
            try (Guard<State> g = lock.lock()) {
                g.get().queue.add(i);
            }
            notEmpty.notifyOne();
        }
        consumer.join();
        for (int i = 0; i < items; i++) {
            assertEquals(i, received.get(i));
        }
    }

    @ParameterizedTest
    @EnumSource(LockTest.Kind.class)
    void aTimedWaitWithoutNotificationTimesOutHoldingTheLock(LockTest.Kind kind) throws InterruptedException {
        Lock<State, ?> lock = kind.create(new State());
        CondVar cv = new CondVar();
        try (Guard<State> g = lock.lock()) {
            assertEquals(CondVar.WaitResult.TIMED_OUT, cv.await(g, Duration.ofMillis(20)));
            assertTrue(g.isHeld());
            assertEquals(CondVar.WaitResult.TIMED_OUT, cv.await(g, Duration.ofMillis(-5)));
            assertFalse(cv.hasWaiters(), "a waiter that timed out leaves the queue");
        }
    }

    @ParameterizedTest
    @EnumSource(LockTest.Kind.class)
    void aTimedWaitIsWokenByANotificationAndTheLockIsFreeMeanwhile(LockTest.Kind kind) {
        Lock<State, ?> lock = kind.create(new State());
        CondVar cv = new CondVar();
        AtomicReference<CondVar.WaitResult> result = new AtomicReference<>();
        TestThread waiter = TestThread.start("timed-waiter", () -> {
            try (Guard<State> g = lock.lock()) {
                while (!g.get().go) {
                    result.set(cv.await(g, Duration.ofMinutes(5)));
                }
            }
        });
        Await.until("the waiter to wait", cv::hasWaiters);
        lock.run(s -> s.go = true); // possible only because the waiter released the lock
        cv.notifyOne();
        waiter.join();
        assertEquals(CondVar.WaitResult.WOKEN, result.get());
    }

    @ParameterizedTest
    @EnumSource(LockTest.Kind.class)
    void notifyAllWakesEveryWaiterAndNotifyOneWakesOne(LockTest.Kind kind) {
        Lock<State, ?> lock = kind.create(new State());
        CondVar cv = new CondVar();
        int n = 5;
        CountDownLatch done = new CountDownLatch(n);
        for (int i = 0; i < n; i++) {
            TestThread.start("waiter-" + i, () -> {
                try (Guard<State> g = lock.lock()) {
                    g.get().waiting++;
                    while (g.get().tokens == 0) {
                        cv.await(g);
                    }
                    g.get().tokens--;
                }
                done.countDown();
            });
        }
        // A waiter counts itself and enqueues on the CondVar under one holding of the lock: seeing n under the
        // lock means all n are waiting.
        Await.until("all waiters to wait", () -> lock.with(s -> s.waiting) == n);
        lock.run(s -> s.tokens = 1);
        cv.notifyOne();
        Await.until("one waiter to finish", () -> done.getCount() == n - 1);
        assertTrue(cv.hasWaiters(), "notifyOne must leave the other waiters waiting");
        lock.run(s -> s.tokens = n - 1);
        cv.notifyAllWaiters();
        Await.until("every waiter to finish", () -> done.getCount() == 0);
        assertFalse(cv.hasWaiters());
    }

    @ParameterizedTest
    @EnumSource(LockTest.Kind.class)
    void waitingNeedsTheGuardOfAHeldLock(LockTest.Kind kind) throws InterruptedException {
        Lock<State, ?> lock = kind.create(new State());
        CondVar cv = new CondVar();
        Guard<State> g = lock.lock();
        TestThread.start("not-the-owner", () -> {
            assertThrows(IllegalStateException.class, () -> cv.await(g));
            assertThrows(IllegalStateException.class, () -> cv.awaitUninterruptibly(g));
        }).join();
        g.close();
        assertThrows(IllegalStateException.class, () -> cv.await(g, Duration.ofSeconds(1)));
        assertFalse(cv.hasWaiters());
    }

    @Test
    void anInterruptEndsTheWaitWithTheLockHeldAgain() {
        Mutex<State> lock = new Mutex<>(new State(), LockClass.named("test.cv.interrupt"));
        CondVar cv = new CondVar();
        TestThread waiter = TestThread.start("interrupted-waiter", () -> {
            try (Guard<State> g = lock.lock()) {
                assertThrows(InterruptedException.class, () -> cv.await(g));
                assertTrue(g.isHeld(), "the lock is held again when InterruptedException arrives");
                assertFalse(Thread.currentThread().isInterrupted());
            }
        });
        Await.until("the waiter to wait", cv::hasWaiters);
        waiter.thread().interrupt();
        waiter.join();
        assertFalse(cv.hasWaiters());
    }

    @Test
    void anUninterruptibleWaitKeepsWaitingAndRestoresTheInterrupt() {
        Mutex<State> lock = new Mutex<>(new State(), LockClass.named("test.cv.uninterruptible"));
        CondVar cv = new CondVar();
        TestThread waiter = TestThread.start("uninterruptible-waiter", () -> {
            try (Guard<State> g = lock.lock()) {
                g.get().waiting = 1;
                while (!g.get().go) {
                    cv.awaitUninterruptibly(g);
                }
                assertTrue(Thread.interrupted(), "the interrupt status is restored on return");
            }
        });
        Await.until("the waiter to wait", cv::hasWaiters);
        waiter.thread().interrupt();
        Await.parked(waiter.thread()); // still waiting: the interrupt did not end the wait
        assertTrue(cv.hasWaiters());
        lock.run(s -> s.go = true);
        cv.notifyAllWaiters();
        waiter.join();
    }
}
