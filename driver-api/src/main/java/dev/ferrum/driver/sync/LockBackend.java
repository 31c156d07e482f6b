package dev.ferrum.driver.sync;

/**
 * How a {@link Lock} acquires and releases its lock word: the {@code B} of {@code Lock<T, B>}, as the kernel's
 * {@code Lock<T, B: Backend>}. Two backends exist: {@link SpinLockBackend} (busy-waits) and {@link MutexBackend}
 * (parks). They have no public methods: a backend is reachable only through its lock's {@link Guard}, so raw
 * unlocking is impossible.
 *
 * <p>Invariants: a backend belongs to exactly one lock; {@code acquire}/{@code tryAcquire} returning normally/true
 * give the caller exclusive ownership with acquire ordering, and {@code release} ends it with release ordering.
 */
public abstract sealed class LockBackend permits SpinLockBackend, MutexBackend {

    LockBackend() {
    }

    /** A volatile write of the unlocked state, made by the constructor after the initial value was stored. */
    abstract void publish();

    /** Blocks (spinning or parking) until the lock is owned by the caller. */
    abstract void acquire(Lock<?, ?> lock);

    /** Takes the lock if it is free, without waiting. */
    abstract boolean tryAcquire();

    /** Releases the lock; the caller owns it. */
    abstract void release();
}
