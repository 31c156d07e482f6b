package dev.ferrum.driver.sync;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferrum.driver.testing.TestThread;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The lock-order checker. The build runs tests with -Dferrum.lockdep=true, which these tests require. */
class LockOrderTest {

    private static final AtomicInteger UNIQUE = new AtomicInteger();

    private String prefix;

    @BeforeEach
    void checkerIsOn() {
        assertTrue(LockOrderChecker.isAvailable(), "tests must run with -D" + LockOrderChecker.PROPERTY + "=true");
        assertTrue(LockOrderChecker.isEnabled());
        prefix = "test.order" + UNIQUE.incrementAndGet() + ".";
    }

    private Mutex<Integer> mutex(String name) {
        return new Mutex<>(0, LockClass.named(prefix + name));
    }

    private SpinLock<Integer> spin(String name) {
        return new SpinLock<>(0, LockClass.named(prefix + name));
    }

    private static void takeAThenB(Lock<Integer, ?> a, Lock<Integer, ?> b) {
        try (Guard<Integer> ga = a.lock(); Guard<Integer> gb = b.lock()) {
            ga.set(ga.get() + 1);
            gb.set(gb.get() + 1);
        }
    }

    private static void takeBThenA(Lock<Integer, ?> a, Lock<Integer, ?> b) {
        try (Guard<Integer> gb = b.lock(); Guard<Integer> ga = a.lock()) {
            ga.set(ga.get() + 1);
            gb.set(gb.get() + 1);
        }
    }

    @Test
    void anInversionAcrossTwoThreadsIsReportedBeforeItCanDeadlock() throws InterruptedException {
        Mutex<Integer> a = mutex("a");
        SpinLock<Integer> b = spin("b");
        TestThread.start("first-order", () -> takeAThenB(a, b)).join();

        // Now make the inversion a real deadlock risk: another thread holds A while this one holds B and wants A.
        CountDownLatch aHeld = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        TestThread holder = TestThread.start("holds-a", () -> {
            try (Guard<Integer> g = a.lock()) {
                aHeld.countDown();
                release.await();
            }
        });
        aHeld.await();
        LockOrderViolation v = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> assertThrows(LockOrderViolation.class, () -> takeBThenA(a, b)),
                "the inverting acquisition must throw, not block on the held lock");
        release.countDown();
        holder.join();

        assertSame(b.lockClass(), v.held());
        assertSame(a.lockClass(), v.acquiring());
        String m = v.getMessage();
        assertTrue(m.contains("'" + prefix + "a'") && m.contains("'" + prefix + "b'"), m);
        assertTrue(m.contains("takeBThenA"), "the inverting acquisition site is named: " + m);
        assertTrue(m.contains("takeAThenB"), "the first recorded order's site is named: " + m);
        assertTrue(m.contains("\"first-order\""), "the thread of the first order is named: " + m);
        assertFalse(b.isHeldByCurrentThread(), "the held lock was released by try-with-resources");
        assertEquals(1, (int) a.with(x -> x), "A was never acquired by the inverting thread");
        assertEquals(List.of(), LockOrderChecker.heldByCurrentThread());
    }

    @Test
    void aCycleThroughAThirdClassIsReported() {
        Mutex<Integer> a = mutex("a");
        Mutex<Integer> b = mutex("b");
        Mutex<Integer> c = mutex("c");
        takeAThenB(a, b); // a -> b
        takeAThenB(b, c); // b -> c
        LockOrderViolation v = assertThrows(LockOrderViolation.class, () -> takeAThenB(c, a)); // c -> a closes it
        String m = v.getMessage();
        assertSame(c.lockClass(), v.held());
        assertSame(a.lockClass(), v.acquiring());
        assertTrue(m.contains("'" + prefix + "b' acquired while holding '" + prefix + "a'")
                && m.contains("'" + prefix + "c' acquired while holding '" + prefix + "b'"),
                "both recorded edges of the path are shown: " + m);
    }

    @Test
    void aConsistentOrderIsNeverReported() {
        Mutex<Integer> a = mutex("a");
        SpinLock<Integer> b = spin("b");
        SpinLock<Integer> c = spin("c");
        assertDoesNotThrow(() -> {
            for (int i = 0; i < 3; i++) {
                TestThread.start("consistent-" + i, () -> {
                    takeAThenB(a, b);
                    takeAThenB(b, c);
                    takeAThenB(a, c);
                }).join();
            }
        });
        assertEquals(6, (int) a.with(x -> x));
        assertEquals(6, (int) c.with(x -> x));
    }

    @Test
    void aTryLockAddsNoOrderButLocksTakenUnderItAreOrdered() {
        Mutex<Integer> a = mutex("a");
        Mutex<Integer> b = mutex("b");
        takeAThenB(a, b);
        try (Guard<Integer> gb = b.lock()) {
            Guard<Integer> ga = a.tryLock(); // cannot deadlock: not an inversion
            assertNotNull(ga);
            assertEquals(List.of(b.lockClass(), a.lockClass()), LockOrderChecker.heldByCurrentThread());
            ga.close();
            assertEquals(1, gb.get());
        }
        Mutex<Integer> c = mutex("c");
        Guard<Integer> gc = c.tryLock();
        assertNotNull(gc);
        try {
            a.lock().close(); // records c -> a
        } finally {
            gc.close();
        }
        assertThrows(LockOrderViolation.class, () -> takeAThenB(a, c));
    }

    @Test
    void nestingTwoLocksOfOneClassIsNotChecked() {
        LockClass shared = LockClass.named(prefix + "shared");
        Mutex<Integer> x = new Mutex<>(0, shared);
        Mutex<Integer> y = new Mutex<>(0, shared);
        assertDoesNotThrow(() -> {
            takeAThenB(x, y);
            takeAThenB(y, x);
        });
    }

    @Test
    void theCheckerCanBeSwitchedOffAtRunTime() {
        Mutex<Integer> a = mutex("a");
        Mutex<Integer> b = mutex("b");
        takeAThenB(a, b);
        LockOrderChecker.setEnabled(false);
        try {
            assertFalse(LockOrderChecker.isEnabled());
            assertDoesNotThrow(() -> takeBThenA(a, b));
            assertEquals(List.of(), LockOrderChecker.heldByCurrentThread());
        } finally {
            LockOrderChecker.setEnabled(true);
        }
        assertThrows(LockOrderViolation.class, () -> takeBThenA(a, b));
    }

    @Test
    void heldLocksAreTrackedThroughUnlockedAndCondVarWaits() throws InterruptedException {
        Mutex<Integer> a = mutex("a");
        Mutex<Integer> b = mutex("b");
        CondVar cv = new CondVar();
        try (Guard<Integer> ga = a.lock()) {
            try (Guard<Integer> gb = b.lock()) {
                assertEquals(List.of(a.lockClass(), b.lockClass()), LockOrderChecker.heldByCurrentThread());
                gb.unlocked(() -> assertEquals(List.of(a.lockClass()), LockOrderChecker.heldByCurrentThread()));
                assertEquals(List.of(a.lockClass(), b.lockClass()), LockOrderChecker.heldByCurrentThread());
                assertEquals(CondVar.WaitResult.TIMED_OUT, cv.await(gb, Duration.ofMillis(1)));
                assertEquals(List.of(a.lockClass(), b.lockClass()), LockOrderChecker.heldByCurrentThread());
            }
            assertEquals(List.of(a.lockClass()), LockOrderChecker.heldByCurrentThread());
        }
        assertEquals(List.of(), LockOrderChecker.heldByCurrentThread());
    }
}
