package dev.ferrum.driver.workqueue;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A work item queued after a delay: the kernel's {@code delayed_work}. Queue it with
 * {@link Workqueue#enqueue(DelayedWork, java.time.Duration)}; when the delay has elapsed it is put on that queue and
 * runs like a {@link Work}.
 *
 * {@snippet class=dev.ferrum.example.javadoc.WorkqueueExamplesTest region=delayed}
 *
 * <p>Pending covers the delay: while the timer is armed the item is pending, a second enqueue returns false (it
 * does not move the timer), {@link #cancel()} disarms the timer and returns true, and {@link #flush()} queues the
 * execution at once and waits for it ({@code flush_delayed_work}). Destroying the target queue while the timer is
 * armed runs the item at once rather than dropping it.
 *
 * <p>Timers run on one shared daemon platform thread ({@code ferrum-wq-timer}) that only moves expired items onto
 * their queues; the functions always run on the queue's workers. Arming a timer allocates a scheduler entry, so
 * delayed work is not for the allocation-free hot path (plain {@link Work} is).
 *
 * <p>Memory ordering: as {@link WorkItem}; the delay adds a happens-before edge from the enqueue through the timer
 * thread to the execution.
 *
 * <p>Invariants: those of {@link WorkItem}; the timer is armed exactly while the state has the timer flag, and the
 * item is then in its target queue's set of armed items (so that destroying the queue finds it).
 */
public final class DelayedWork extends WorkItem {

    /** The shared timer thread. */
    private static final class Timers {
        static final ScheduledThreadPoolExecutor EXECUTOR;

        static {
            EXECUTOR = new ScheduledThreadPoolExecutor(1,
                    r -> Thread.ofPlatform().name("ferrum-wq-timer").daemon(true).unstarted(r));
            EXECUTOR.setRemoveOnCancelPolicy(true);
        }
    }

    private final Object timerLock = new Object();
    /** Guarded by timerLock; non-null exactly while the timer flag is set. */
    private Workqueue timerQueue;
    /** Guarded by timerLock; non-null exactly while the timer flag is set. */
    private ScheduledFuture<?> timer;

    /**
     * @param function what to run
     * @throws NullPointerException if {@code function} is null
     */
    public DelayedWork(Runnable function) {
        super(null, function);
    }

    /**
     * @param name a name for log messages and {@link #toString()} (null: the function's class name)
     * @param function what to run
     * @throws NullPointerException if {@code function} is null
     */
    public DelayedWork(String name, Runnable function) {
        super(name, function);
    }

    /** @return true if the delay of the pending execution has not elapsed yet */
    public boolean isTimerArmed() {
        return (state() & TIMER) != 0;
    }

    /** Makes the item pending with an armed timer; see {@link Workqueue#enqueue(DelayedWork, java.time.Duration)}. */
    boolean arm(Workqueue queue, long nanos) {
        synchronized (timerLock) {
            long n = tryMarkPending(TIMER);
            if (n < 0) {
                return false;
            }
            try {
                queue.addArmed(this);
            } catch (RuntimeException e) {
                abandonPending();
                throw e;
            }
            long seq = seqOf(n);
            timerQueue = queue;
            timer = Timers.EXECUTOR.schedule(() -> expire(seq), nanos, TimeUnit.NANOSECONDS);
            return true;
        }
    }

    /** The timer task of the arming with sequence number {@code seq}. */
    private void expire(long seq) {
        synchronized (timerLock) {
            long s = state();
            if ((s & TIMER) != 0 && seqOf(s) == seq) { // else: cancelled, or flushed and re-armed since
                moveToQueue();
            }
        }
    }

    @Override
    void queueTimerNow(Workqueue onlyFor) {
        synchronized (timerLock) {
            if ((state() & TIMER) != 0 && (onlyFor == null || onlyFor == timerQueue)) {
                timer.cancel(false);
                moveToQueue();
            }
        }
    }

    /** Under timerLock, timer flag set: the pending execution goes from the timer to the queue's list. */
    private void moveToQueue() {
        clear(TIMER);
        Workqueue q = timerQueue;
        timerQueue = null;
        timer = null;
        q.linkFromTimer(this);
    }

    @Override
    boolean cancelTimer() {
        long now;
        synchronized (timerLock) {
            if ((state() & TIMER) == 0) {
                return false;
            }
            now = clear(PENDING | TIMER);
            timer.cancel(false);
            timerQueue.removeArmed(this);
            timerQueue = null;
            timer = null;
        }
        cancelled(now);
        return true;
    }
}
