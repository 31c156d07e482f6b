package dev.ferrum.driver.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * A condition variable: the kernel's {@code CondVar}. A thread holding a lock waits for a condition on the data
 * that lock protects; the wait takes the lock's {@link Guard} as proof that the lock is held, releases the lock
 * while parked, and holds it again when the wait returns.
 *
 * {@snippet class=dev.ferrum.example.javadoc.SyncExamplesTest region=condvar}
 *
 * <p>It works with {@link Mutex} and with {@link SpinLock}: the lock is released before the waiter parks and
 * re-acquired (spinning, for a spin lock) after it wakes, so no lock is held while parked. One condition variable
 * may be used with different locks at different times, though normally it pairs with one.
 *
 * <p><b>Wake-ups.</b> {@link #notifyOne()} wakes one thread that is waiting at that moment (the longest-waiting one
 * that has not timed out or been interrupted); {@link #notifyAllWaiters()} wakes all of them. A notification with no
 * waiter is lost, as in the kernel, so change the condition under the lock and notify afterwards. A wait may also
 * return without a notification (<em>spurious wake-up</em>); this implementation does not produce them on purpose,
 * but callers must not rely on that: re-check the condition in a loop.
 *
 * <p><b>Memory ordering.</b> When a wait returns, the waiter holds the lock again, so it sees everything the
 * previous holders wrote under it. Independently, a notification happens-before the return of every wait it wakes
 * (the wake-up is a CAS on the waiter's state that the waiter reads).
 *
 * <p><b>Interruption.</b> {@link #await(Guard)} and {@link #await(Guard, Duration)} throw
 * {@link InterruptedException} if the thread is interrupted while waiting, after re-acquiring the lock (the guard is
 * valid when the exception arrives). {@link #awaitUninterruptibly(Guard)} keeps waiting and restores the interrupt
 * status on return. Java's {@code Object.notifyAll()} is final, hence the name {@code notifyAllWaiters}.
 *
 * <p>Invariants: every waiter is in the queue from before it releases the lock until it is woken, times out or is
 * interrupted; a waiter is woken at most once.
 */
public final class CondVar {

    /** The outcome of a timed wait. Invariants: each timed wait returns exactly one of these. */
    public enum WaitResult {
        /** Woken by a notification (or spuriously): re-check the condition. */
        WOKEN,
        /** The timeout elapsed without a notification reaching this waiter. */
        TIMED_OUT
    }

    private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();

    /** Creates a condition variable with no waiters. */
    public CondVar() {
    }

    private static final class Waiter {
        private static final VarHandle STATE = Handles.field(MethodHandles.lookup(), "state", int.class);
        static final int WAITING = 0;
        static final int WOKEN = 1;
        static final int GAVE_UP = 2;

        final Thread thread;
        volatile int state;

        Waiter(Thread thread) {
            this.thread = thread;
        }

        /** Wakes this waiter unless it already gave up (timed out or interrupted). */
        boolean wake() {
            if (STATE.compareAndSet(this, WAITING, WOKEN)) {
                LockSupport.unpark(thread);
                return true;
            }
            return false;
        }

        /** Gives up waiting, unless a notification got here first. */
        boolean giveUp() {
            return STATE.compareAndSet(this, WAITING, GAVE_UP);
        }
    }

    /**
     * Releases the guard's lock, waits until notified (or spuriously woken), and re-acquires the lock.
     *
     * @param guard the guard of the lock protecting the condition, held by the calling thread
     * @throws IllegalStateException if the calling thread does not hold the guard's lock
     * @throws InterruptedException if the thread was interrupted before or while waiting (the lock is held again)
     * @throws LockOrderViolation if re-acquiring the lock inverts a recorded order (the lock is then not held)
     */
    public void await(Guard<?> guard) throws InterruptedException {
        awaitNanos(guard, -1, true);
    }

    /**
     * Like {@link #await(Guard)}, but gives up after {@code timeout}.
     *
     * @param timeout how long to wait at most; zero or negative checks without parking (and reports
     *                {@link WaitResult#TIMED_OUT} unless a notification raced in)
     * @return whether the wait was woken or timed out
     * @throws IllegalStateException if the calling thread does not hold the guard's lock
     * @throws InterruptedException if the thread was interrupted before or while waiting (the lock is held again)
     */
    public WaitResult await(Guard<?> guard, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        long nanos = timeout.isNegative() ? 0 : saturatedNanos(timeout);
        return awaitNanos(guard, nanos, true);
    }

    /**
     * Like {@link #await(Guard)}, but an interrupt does not end the wait; the interrupt status is set again when the
     * wait returns.
     *
     * @throws IllegalStateException if the calling thread does not hold the guard's lock
     */
    public void awaitUninterruptibly(Guard<?> guard) {
        try {
            awaitNanos(guard, -1, false);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** Wakes one waiting thread, if any. May be called with or without the lock held. */
    public void notifyOne() {
        Waiter w;
        while ((w = waiters.poll()) != null) {
            if (w.wake()) {
                return;
            }
        }
    }

    /** Wakes every thread waiting now. May be called with or without the lock held. */
    public void notifyAllWaiters() {
        Waiter w;
        while ((w = waiters.poll()) != null) {
            w.wake();
        }
    }

    /** @return true if some thread is waiting (a racy snapshot, for diagnostics and tests) */
    public boolean hasWaiters() {
        for (Waiter w : waiters) {
            if (w.state == Waiter.WAITING) {
                return true;
            }
        }
        return false;
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }

    /** @param nanos negative = no timeout */
    private WaitResult awaitNanos(Guard<?> guard, long nanos, boolean interruptible) throws InterruptedException {
        Objects.requireNonNull(guard, "guard");
        guard.check();
        Lock<?, ?> lock = guard.lock;
        if (interruptible && Thread.interrupted()) {
            throw new InterruptedException("interrupted before waiting on a CondVar");
        }
        Waiter me = new Waiter(Thread.currentThread());
        waiters.add(me); // before releasing the lock: a notifier that takes the lock after us will see us
        lock.release();
        WaitResult result = WaitResult.WOKEN;
        boolean interrupted = false;
        boolean restoreInterrupt = false;
        try {
            long deadline = nanos >= 0 ? System.nanoTime() + nanos : 0;
            while (me.state == Waiter.WAITING) {
                if (nanos < 0) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        if (me.giveUp()) {
                            result = WaitResult.TIMED_OUT;
                        }
                        continue; // either gave up, or a notification won the race: the loop ends
                    }
                    LockSupport.parkNanos(this, left);
                }
                if (Thread.interrupted()) {
                    if (interruptible && me.giveUp()) {
                        interrupted = true;
                    } else {
                        restoreInterrupt = true; // woken anyway, or uninterruptible: report it on return
                    }
                }
            }
        } finally {
            lock.lock();
        }
        if (me.state == Waiter.GAVE_UP) {
            waiters.remove(me);
        }
        if (interrupted) {
            throw new InterruptedException("interrupted while waiting on a CondVar");
        }
        if (restoreInterrupt) {
            Thread.currentThread().interrupt();
        }
        return result;
    }
}
