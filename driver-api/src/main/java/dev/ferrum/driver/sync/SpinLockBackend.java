package dev.ferrum.driver.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The busy-waiting backend of {@link SpinLock}: a test-and-test-and-set lock on one {@code int}.
 *
 * <p>Uncontended acquisition is a single compare-and-set of the lock word from 0 to 1 (no allocation, no
 * indirection beyond this object); release is a release-store of 0. Under contention a waiter spins on opaque
 * reads of the word (so that waiters share the cache line read-only instead of bouncing it with failed CASes),
 * calling {@link Thread#onSpinWait()} in the loop, and only retries the CAS once the word reads free. After
 * {@value #SPINS_BEFORE_YIELD} spins it calls {@link Thread#yield()} on every further iteration: the holder may have
 * been descheduled (or, for a virtual thread, unmounted), and spinning against it would only burn its CPU.
 *
 * <p>Memory ordering: the successful CAS has volatile semantics (at least acquire); the release is
 * {@code setRelease}. A release and the next successful acquire therefore form a happens-before edge, which is what
 * makes the protected value safe to read and write through the guard.
 *
 * <p>Invariants: the word is 0 (free) or 1 (held); only the holder writes 0.
 */
public final class SpinLockBackend extends LockBackend {

    /** Spins with {@link Thread#onSpinWait()} before a contended waiter starts yielding: {@value}. */
    static final int SPINS_BEFORE_YIELD = 128;

    private static final VarHandle LOCKED = Handles.field(MethodHandles.lookup(), "locked", int.class);

    /** 0 = free, 1 = held. Accessed only through {@link #LOCKED}. */
    @SuppressWarnings("unused")
    private int locked;

    SpinLockBackend() {
    }

    @Override
    void publish() {
        LOCKED.setVolatile(this, 0);
    }

    @Override
    void acquire(Lock<?, ?> lock) {
        if (!LOCKED.compareAndSet(this, 0, 1)) {
            acquireContended(lock);
        }
    }

    private void acquireContended(Lock<?, ?> lock) {
        lock.checkNotHeldByCurrentThread();
        int spins = 0;
        do {
            // Test: wait on a plain-cost read until the lock looks free; opaque guarantees we see the release.
            while ((int) LOCKED.getOpaque(this) != 0) {
                if (spins < SPINS_BEFORE_YIELD) {
                    spins++;
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            // Test-and-set: only now try to take it.
        } while (!LOCKED.compareAndSet(this, 0, 1));
    }

    @Override
    boolean tryAcquire() {
        // Opaque pre-check: a try-lock on a held lock does not pull the line exclusive.
        return (int) LOCKED.getOpaque(this) == 0 && LOCKED.compareAndSet(this, 0, 1);
    }

    @Override
    void release() {
        // Release store: everything the holder wrote is visible to the next acquirer's CAS.
        LOCKED.setRelease(this, 0);
    }
}
