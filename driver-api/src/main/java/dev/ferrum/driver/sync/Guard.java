package dev.ferrum.driver.sync;

import java.util.Objects;

/**
 * Proof that the current thread holds a {@link Lock}, and the only way to reach the value it protects: the kernel's
 * {@code Guard<'_, T, B>}. Obtained from {@link Lock#lock()} or {@link Lock#tryLock()}; use it in
 * try-with-resources.
 *
 * <p>Every method first checks that the calling thread holds the lock and throws {@link IllegalStateException}
 * otherwise: from another thread, after {@link #close()}, a second {@code close()}, inside
 * {@link #unlocked(Runnable)}. A lock has one guard object, reused by every acquisition so that locking allocates
 * nothing. <b>Accepted deviation from the kernel's guards:</b> a reference kept from an earlier acquisition is that
 * same object, so it works again (and its {@code close()} releases the lock) whenever the same thread holds the
 * lock again; this is not detected. See {@link Lock} for why, and keep a guard inside its try-with-resources block.
 *
 * <p>Memory ordering: reads and writes through the guard are ordered by the lock (see {@link Lock}); the guard adds
 * no fences of its own.
 *
 * <p>Invariants: a guard is valid exactly while its lock is held by the thread calling it (whichever acquisition
 * it was obtained from: there is one guard per lock).
 *
 * @param <T> the protected value's type
 */
public final class Guard<T> implements AutoCloseable {

    final Lock<T, ?> lock;

    Guard(Lock<T, ?> lock) {
        this.lock = lock;
    }

    /**
     * @return the protected value
     * @throws IllegalStateException if the calling thread does not hold the lock
     */
    public T get() {
        check();
        return lock.value;
    }

    /**
     * Replaces the protected value.
     *
     * @throws IllegalStateException if the calling thread does not hold the lock
     */
    public void set(T value) {
        check();
        lock.value = value;
    }

    /**
     * Releases the lock, runs {@code action}, and re-acquires the lock, even if {@code action} throws (the kernel's
     * {@code Guard::do_unlocked}). While {@code action} runs the guard is invalid and other threads may take the lock
     * and change the value: re-read what you need afterwards. The re-acquisition is checked by the lock-order
     * checker like any other; if it throws {@link LockOrderViolation}, the lock is not held afterwards.
     *
     * @throws IllegalStateException if the calling thread does not hold the lock
     */
    public void unlocked(Runnable action) {
        Objects.requireNonNull(action, "action");
        check();
        lock.release();
        try {
            action.run();
        } finally {
            lock.lock();
        }
    }

    /** @return true if the calling thread holds the lock, i.e. if this guard may be used now */
    public boolean isHeld() {
        return lock.owner == Thread.currentThread();
    }

    /**
     * Releases the lock.
     *
     * @throws IllegalStateException if the calling thread does not hold the lock (already closed, or another thread)
     */
    @Override
    public void close() {
        check();
        lock.release();
    }

    /** @throws IllegalStateException unless the calling thread holds the lock */
    void check() {
        if (lock.owner != Thread.currentThread()) {
            throw misuse();
        }
    }

    private IllegalStateException misuse() {
        Thread owner = lock.owner;
        String me = Thread.currentThread().getName();
        if (owner == null) {
            return new IllegalStateException("guard of " + lock + " used by thread \"" + me + "\" while the lock is"
                    + " not held: the guard was closed (or is inside unlocked())");
        }
        return new IllegalStateException("guard of " + lock + " used by thread \"" + me + "\" but the lock is held"
                + " by \"" + owner.getName() + "\": a guard belongs to the thread that acquired the lock");
    }

    @Override
    public String toString() {
        return "Guard[" + lock + "]";
    }
}
