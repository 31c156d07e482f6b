package dev.ferrum.agx.internal;

import dev.ferrum.driver.sync.CondVar;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;

import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.ObjIntConsumer;

/**
 * A fixed pool of numbered slots (Asahi {@code slotalloc.rs}): users borrow a slot and give it back. Allocations are
 * sticky: a {@link Token} from an earlier allocation asks for the same slot again, which is granted if nobody took
 * it in the meantime ({@link Slot#changed()} is then false); otherwise the least recently released free slot is
 * chosen. When every slot is taken, {@link #get} waits on a {@link CondVar} until one is returned.
 *
 * <p>Per-slot user data of type {@code D} lives under the allocator's lock ({@link #withData}); the acquire and
 * release hooks run under it too, so bookkeeping such as "slot owner" stays consistent with the allocation state.
 *
 * <p>Invariants: a slot is lent to at most one {@link Slot} at a time; a {@code Slot} returns its slot exactly once;
 * after {@link #shutdown} every waiting and future {@code get} throws the shutdown reason.
 *
 * @param <D> the allocator's user data
 */
public final class SlotAllocator<D> {
    /** A past allocation: asks for the same slot again. */
    public record Token(long time, int slot) {}

    private final class Inner {
        final D data;
        final boolean[] free;
        final long[] getTime;
        final long[] dropTime;
        long gets;
        long drops;
        RuntimeException shutdown;

        Inner(D data, int n) {
            this.data = data;
            this.free = new boolean[n];
            Arrays.fill(free, true);
            this.getTime = new long[n];
            this.dropTime = new long[n];
        }
    }

    private final String name;
    private final int slots;
    private final Mutex<Inner> lock;
    private final CondVar returned = new CondVar();
    private final ObjIntConsumer<D> onRelease;

    /**
     * @param onRelease runs under the allocator's lock whenever a slot is returned
     */
    public SlotAllocator(String name, int slots, D data, ObjIntConsumer<D> onRelease) {
        if (slots < 1) {
            throw new IllegalArgumentException(name + ": slot count " + slots + " is not positive");
        }
        this.name = name;
        this.slots = slots;
        this.onRelease = Objects.requireNonNull(onRelease, "onRelease");
        this.lock = new Mutex<>(new Inner(data, slots), LockClass.named("agx.slotalloc"));
    }

    /** {@return the number of slots} */
    public int slots() {
        return slots;
    }

    /**
     * Borrows a slot, waiting up to {@code timeout} while none is free.
     *
     * @param token   an earlier allocation to reuse if possible, or null
     * @param onGet   runs under the lock with the chosen slot before it is returned (may throw: the slot is then
     *                given back)
     * @throws IllegalStateException if no slot became free in time, if the calling thread was interrupted (its
     *                               interrupt status is kept), or the allocator was shut down (the reason is the
     *                               shutdown exception itself)
     */
    public Slot get(Token token, Duration timeout, ObjIntConsumer<D> onGet) {
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (in.shutdown != null) {
                throw in.shutdown;
            }
            int slot = -1;
            boolean changed = true;
            if (token != null && token.slot() >= 0 && token.slot() < slots && in.free[token.slot()]
                    && in.getTime[token.slot()] == token.time()) {
                slot = token.slot();
                changed = false;
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (slot < 0) {
                slot = leastRecentlyReleased(in);
                if (slot >= 0) {
                    break;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException(name + ": all " + slots + " slots stayed in use for " + timeout);
                }
                try {
                    returned.await(g, Duration.ofNanos(left));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(name + ": interrupted while waiting for a free slot", e);
                }
                if (in.shutdown != null) {
                    throw in.shutdown;
                }
            }
            if (changed) {
                in.gets++;
                in.getTime[slot] = in.gets;
            }
            in.free[slot] = false;
            try {
                onGet.accept(in.data, slot);
            } catch (RuntimeException e) {
                in.free[slot] = true;
                throw e;
            }
            return new Slot(slot, new Token(in.getTime[slot], slot), changed);
        }
    }

    private int leastRecentlyReleased(Inner in) {
        int best = -1;
        for (int i = 0; i < slots; i++) {
            if (in.free[i] && (best < 0 || in.dropTime[i] < in.dropTime[best])) {
                best = i;
            }
        }
        return best;
    }

    /** Runs {@code f} on the user data under the allocator's lock. */
    public <R> R withData(Function<? super D, ? extends R> f) {
        return lock.with(in -> f.apply(in.data));
    }

    /** {@return the number of slots currently lent out} */
    public int inUse() {
        return lock.with(in -> {
            int n = 0;
            for (boolean f : in.free) {
                n += f ? 0 : 1;
            }
            return n;
        });
    }

    /** Makes every waiting and future {@link #get} throw {@code reason}. Slots lent out can still be returned. */
    public void shutdown(RuntimeException reason) {
        lock.run(in -> {
            if (in.shutdown == null) {
                in.shutdown = reason;
            }
        });
        returned.notifyAllWaiters();
    }

    private void release(int slot) {
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (in.free[slot]) {
                throw new IllegalStateException(name + ": slot " + slot + " returned while free");
            }
            in.free[slot] = true;
            in.drops++;
            in.dropTime[slot] = in.drops;
            onRelease.accept(in.data, slot);
        }
        returned.notifyOne();
    }

    /** A borrowed slot. Invariant: gives the slot back exactly once, on {@link #close()}. */
    public final class Slot implements AutoCloseable {
        private final int slot;
        private final Token token;
        private final boolean changed;
        private boolean closed;

        private Slot(int slot, Token token, boolean changed) {
            this.slot = slot;
            this.token = token;
            this.changed = changed;
        }

        /** {@return the slot number} */
        public int slot() {
            return slot;
        }

        /** {@return the token to ask for this slot again later} */
        public Token token() {
            return token;
        }

        /** {@return false if the token's slot was granted again with no other user in between} */
        public boolean changed() {
            return changed;
        }

        /** Gives the slot back. A second close is an error. */
        @Override
        public void close() {
            if (closed) {
                throw new IllegalStateException(name + ": slot " + slot + " returned twice");
            }
            closed = true;
            release(slot);
        }

        @Override
        public String toString() {
            return name + " slot " + slot;
        }
    }
}
