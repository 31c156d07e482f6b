package dev.ferrum.driver.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferrum.driver.testing.TestThread;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RefcountTest {

    @Test
    void theSaturationValueIsTheKernels() {
        assertEquals(0xC0000000, Refcount.SATURATED);
        assertEquals(Integer.MIN_VALUE / 2, Refcount.SATURATED);
        assertEquals(-1073741824, Refcount.SATURATED);
        assertEquals(Integer.MAX_VALUE, Refcount.MAX);
    }

    @Test
    void countsUpAndDownAndTheLastDecrementReportsZero() {
        Refcount r = new Refcount(1);
        r.inc();
        r.inc();
        assertEquals(3, r.read());
        r.dec();
        assertFalse(r.decAndTest());
        assertTrue(r.decAndTest());
        assertEquals(0, r.read());
        assertFalse(r.isSaturated());
        assertNull(r.saturation());
    }

    @Test
    void incNotZeroRefusesADeadObject() {
        Refcount r = new Refcount(0);
        assertFalse(r.incNotZero());
        assertEquals(0, r.read(), "a refused incNotZero leaves 0");
        Refcount live = new Refcount(2);
        assertTrue(live.incNotZero());
        assertEquals(3, live.read());
        assertFalse(r.isSaturated() || live.isSaturated());
    }

    @Test
    void aNegativeInitialCountIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Refcount(-1));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
        assertEquals(Refcount.MAX, new Refcount(Refcount.MAX).read());
    }

    /** Runs {@code misuse} on {@code r}, then checks saturation, its kind, and exactly one reported event. */
    private static void assertSaturates(Refcount r, Refcount.Saturation kind, Runnable misuse) {
        long before = Refcount.saturationEvents();
        misuse.run();
        assertEquals(Refcount.SATURATED, r.read());
        assertTrue(r.isSaturated());
        assertEquals(kind, r.saturation());
        assertEquals(before + 1, Refcount.saturationEvents(), "the first misuse is reported once");

        // It stays saturated whatever happens next, never frees, and is not reported again.
        r.inc();
        assertTrue(r.incNotZero());
        r.dec();
        assertFalse(r.decAndTest());
        assertEquals(Refcount.SATURATED, r.read());
        assertEquals(kind, r.saturation(), "the first misuse is the one remembered");
        assertEquals(before + 1, Refcount.saturationEvents(), "further misuse of the same refcount is not reported");
    }

    @Test
    void incrementingMaxSaturatesInsteadOfWrapping() {
        Refcount r = new Refcount(Refcount.MAX - 1);
        r.inc();
        assertEquals(Refcount.MAX, r.read(), "MAX itself is a live count");
        assertFalse(r.isSaturated());
        assertSaturates(r, Refcount.Saturation.ADD_OVERFLOW, r::inc);
    }

    @Test
    void incNotZeroOnMaxSaturates() {
        Refcount r = new Refcount(Refcount.MAX);
        assertSaturates(r, Refcount.Saturation.ADD_NOT_ZERO_OVERFLOW, () -> assertTrue(r.incNotZero()));
    }

    @Test
    void incrementingZeroSaturatesAsUseAfterFree() {
        Refcount r = new Refcount(1);
        assertTrue(r.decAndTest());
        assertSaturates(r, Refcount.Saturation.ADD_ON_ZERO, r::inc);
    }

    @Test
    void decrementingZeroSaturatesAsUnderflow() {
        Refcount r = new Refcount(0);
        assertSaturates(r, Refcount.Saturation.UNDERFLOW, () -> assertFalse(r.decAndTest()));
        Refcount r2 = new Refcount(0);
        assertSaturates(r2, Refcount.Saturation.UNDERFLOW, r2::dec);
    }

    @Test
    void decThatReachesZeroSaturatesAsALeak() {
        Refcount r = new Refcount(1);
        assertSaturates(r, Refcount.Saturation.DEC_HIT_ZERO, r::dec);
    }

    @Test
    void aSaturatedCountCannotBeWalkedBackToZero() {
        Refcount r = new Refcount(0);
        r.inc(); // saturates
        for (int i = 0; i < 10_000; i++) {
            assertFalse(r.decAndTest());
        }
        assertEquals(Refcount.SATURATED, r.read());
        assertTrue(r.toString().contains("ADD_ON_ZERO"), r.toString());
    }

    @Test
    void exactlyOneRacingDecAndTestSeesZero() throws Exception {
        int threads = 4;
        for (int round = 0; round < 200; round++) {
            Refcount r = new Refcount(threads);
            AtomicInteger zeros = new AtomicInteger();
            CyclicBarrier start = new CyclicBarrier(threads);
            List<TestThread> ts = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                ts.add(TestThread.start("dec-" + round + "-" + i, () -> {
                    start.await();
                    if (r.decAndTest()) {
                        zeros.incrementAndGet();
                    }
                }));
            }
            ts.forEach(TestThread::join);
            assertEquals(1, zeros.get(), "round " + round);
            assertEquals(0, r.read());
        }
    }
}
