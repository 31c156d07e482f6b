package dev.ferrum.driver.sync;

import java.io.Serial;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;

/**
 * The parking backend of {@link Mutex}: a non-reentrant exclusive lock on
 * {@link AbstractQueuedSynchronizer}.
 *
 * <p>Uncontended acquisition is one compare-and-set of the state from 0 to 1; a contended waiter queues and parks
 * (a virtual thread unmounts, a platform thread sleeps in the kernel) until the holder's release unparks it.
 * Acquisition is not fair (a running thread may take the lock before a parked one wakes up), like the kernel mutex
 * with optimistic spinning, and is not interruptible ({@code mutex_lock}, not {@code mutex_lock_interruptible}).
 *
 * <p>Memory ordering: acquisition has volatile-read semantics and release volatile-write semantics on the state, so a
 * release happens-before the next acquisition.
 *
 * <p>Invariants: the state is 0 (free) or 1 (held); only the holder sets it back to 0.
 */
public final class MutexBackend extends LockBackend {

    private final Sync sync = new Sync();

    MutexBackend() {
    }

    private static final class Sync extends AbstractQueuedSynchronizer {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean tryAcquire(int ignored) {
            return compareAndSetState(0, 1);
        }

        @Override
        protected boolean tryRelease(int ignored) {
            setState(0);
            return true;
        }

        @Override
        protected boolean isHeldExclusively() {
            return getState() != 0;
        }

        void publish() {
            setState(0);
        }
    }

    @Override
    void publish() {
        sync.publish();
    }

    @Override
    void acquire(Lock<?, ?> lock) {
        if (!sync.tryAcquire(1)) {
            lock.checkNotHeldByCurrentThread();
            sync.acquire(1);
        }
    }

    @Override
    boolean tryAcquire() {
        return sync.tryAcquire(1);
    }

    @Override
    void release() {
        sync.release(1);
    }
}
