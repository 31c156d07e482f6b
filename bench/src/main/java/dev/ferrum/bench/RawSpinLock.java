package dev.ferrum.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The raw baseline of {@code SpinLock}: the same test-and-test-and-set lock word as {@code SpinLockBackend}
 * (compare-and-set 0 to 1, opaque spin with {@link Thread#onSpinWait()}, {@link Thread#yield()} after 128 spins,
 * release store of 0), without the lock object's owner tracking, guard checks, lock class or lock-order hooks.
 * Unlock does not check the caller: that is the point of a baseline.
 *
 * <p>Invariants: the word is 0 (free) or 1 (held).
 */
final class RawSpinLock {
    private static final VarHandle LOCKED;

    static {
        try {
            LOCKED = MethodHandles.lookup().findVarHandle(RawSpinLock.class, "locked", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // through LOCKED
    private int locked;

    void lock() {
        if (!LOCKED.compareAndSet(this, 0, 1)) {
            lockContended();
        }
    }

    private void lockContended() {
        int spins = 0;
        do {
            while ((int) LOCKED.getOpaque(this) != 0) {
                if (spins < 128) {
                    spins++;
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        } while (!LOCKED.compareAndSet(this, 0, 1));
    }

    void unlock() {
        LOCKED.setRelease(this, 0);
    }
}
