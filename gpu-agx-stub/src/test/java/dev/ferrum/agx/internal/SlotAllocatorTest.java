package dev.ferrum.agx.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SlotAllocatorTest {
    private static final Duration LONG = Duration.ofSeconds(20);

    private static SlotAllocator<int[]> allocator(int n) {
        return new SlotAllocator<>("test slots", n, new int[n], (owners, s) -> owners[s] = 0);
    }

    @Test
    void tokensGetTheSameSlotBackUnlessSomeoneElseTookIt() {
        SlotAllocator<int[]> a = allocator(3);
        SlotAllocator<int[]>.Slot s0 = a.get(null, LONG, (o, s) -> o[s] = 1);
        SlotAllocator<int[]>.Slot s1 = a.get(null, LONG, (o, s) -> o[s] = 2);
        assertEquals(0, s0.slot());
        assertEquals(1, s1.slot());
        assertTrue(s0.changed());
        assertEquals(2, (int) a.<Integer>withData(o -> o[1]), "the hook ran under the lock");
        SlotAllocator.Token t0 = s0.token();
        s0.close();
        assertEquals(0, (int) a.<Integer>withData(o -> o[0]), "the release hook ran");

        SlotAllocator<int[]>.Slot again = a.get(t0, LONG, (o, s) -> { });
        assertEquals(0, again.slot());
        assertFalse(again.changed(), "nobody used it in between");
        again.close();
        s1.close();
        // Free: 0 (released second), 1 (released last), 2 (never used): the least recently released first.
        SlotAllocator<int[]>.Slot x = a.get(null, LONG, (o, s) -> { });
        assertEquals(2, x.slot());
        SlotAllocator<int[]>.Slot y = a.get(null, LONG, (o, s) -> { });
        assertEquals(0, y.slot());
        SlotAllocator<int[]>.Slot z = a.get(t0, LONG, (o, s) -> { });
        assertEquals(1, z.slot(), "slot 0 is taken: the token's slot cannot be had");
        assertTrue(z.changed());
        assertEquals(3, a.inUse());
        x.close();
        y.close();
        z.close();
        assertThrows(IllegalStateException.class, z::close, "returned twice");
    }

    @Test
    void getWaitsForAReturnedSlot() throws Exception {
        SlotAllocator<int[]> a = allocator(1);
        SlotAllocator<int[]>.Slot held = a.get(null, LONG, (o, s) -> { });
        AtomicReference<SlotAllocator<int[]>.Slot> got = new AtomicReference<>();
        Thread waiter = Thread.ofPlatform().name("slot-waiter").start(
                () -> got.set(a.get(null, LONG, (o, s) -> { })));
        long deadline = System.nanoTime() + LONG.toNanos();
        while (waiter.getState() != Thread.State.WAITING && waiter.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() < deadline, "the waiter parks");
            Thread.sleep(1);
        }
        assertNull(got.get());
        held.close();
        waiter.join(LONG.toMillis());
        assertEquals(0, got.get().slot());
        got.get().close();
    }

    @Test
    void getTimesOutWithAClearMessage() {
        SlotAllocator<int[]> a = allocator(1);
        SlotAllocator<int[]>.Slot held = a.get(null, LONG, (o, s) -> { });
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> a.get(null, Duration.ofMillis(30), (o, s) -> { }));
        assertTrue(e.getMessage().contains("all 1 slots stayed in use for PT0.03S"), e.getMessage());
        held.close();
    }

    @Test
    void shutdownWakesWaitersWithTheReason() throws Exception {
        SlotAllocator<int[]> a = allocator(1);
        SlotAllocator<int[]>.Slot held = a.get(null, LONG, (o, s) -> { });
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = Thread.ofPlatform().name("slot-waiter").start(() -> {
            try {
                a.get(null, LONG, (o, s) -> { });
            } catch (RuntimeException e) {
                failure.set(e);
            }
        });
        long deadline = System.nanoTime() + LONG.toNanos();
        while (waiter.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() < deadline, "the waiter parks");
            Thread.sleep(1);
        }
        IllegalStateException reason = new IllegalStateException("firmware gone");
        a.shutdown(reason);
        waiter.join(LONG.toMillis());
        assertSame(reason, failure.get());
        assertSame(reason, assertThrows(IllegalStateException.class, () -> a.get(null, LONG, (o, s) -> { })));
        held.close(); // lent slots can still come back
        assertEquals(0, a.inUse());
    }

    @Test
    void aFailingAcquireHookGivesTheSlotBack() {
        SlotAllocator<int[]> a = allocator(1);
        assertThrows(ArithmeticException.class, () -> a.get(null, LONG, (o, s) -> o[s] = 1 / 0));
        assertEquals(0, a.inUse());
        a.get(null, LONG, (o, s) -> { }).close();
    }
}
