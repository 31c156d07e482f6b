package dev.ferrum.driver.workqueue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * What {@link Work} and {@link DelayedWork} share: the state machine of a work item (the kernel's
 * {@code work_struct}). A work item is an object embedded in its owner (a final field), created once and queued
 * any number of times; it is never copied or allocated per queueing.
 *
 * <p><b>States.</b> An item is <em>idle</em>, <em>pending</em> (queued, or waiting for its delay, not started yet)
 * and/or <em>running</em>. Queueing a pending item does nothing and returns false, as {@code queue_work} does: at
 * most one execution is pending at a time, so any number of enqueues between two executions collapse into one. The
 * pending flag is cleared just before the function starts, so an item may be queued again while it runs (also from
 * its own function); that execution then runs after the current one returns, never concurrently with it, even on a
 * queue with several workers: an item never runs on two threads at once (the kernel's non-reentrancy guarantee).
 *
 * <p><b>Memory ordering.</b>
 * <ul>
 *   <li>Everything a thread wrote before an enqueue that returned true happens-before the execution it queued.</li>
 *   <li>Everything a thread wrote before an enqueue that returned false <em>because the item was pending</em>
 *       happens-before the pending execution (the failed enqueue still performs a volatile write to the item's
 *       state, which the worker reads when it clears the pending flag). This is the guarantee an interrupt handler
 *       relies on when it records an event and kicks the bottom half: no event is missed.</li>
 *   <li>An execution happens-before the return of a {@link #flush()} or {@link #cancelSync()} that waited for it,
 *       and before a later execution of the same item.</li>
 * </ul>
 *
 * <p><b>Waiting.</b> {@link #flush()} and {@link #cancelSync()} wait uninterruptibly (as the kernel's do); if the
 * thread is interrupted meanwhile, the interrupt status is set again when they return. Calling them from the item's
 * own function would wait for itself forever and throws {@link IllegalStateException} instead.
 *
 * <p>Invariants: a pending execution is in exactly one place: a queue's list, the item's timer, deferred behind
 * its own running execution, or in transit between two of these under a lock; at most one execution runs at a
 * time; the sequence number of the last finished (or cancelled) execution only grows.
 */
public abstract sealed class WorkItem permits Work, DelayedWork {

    // State word: flags in the low byte, the number of successful enqueues above it.
    static final long PENDING = 1L;
    static final long RUNNING = 1L << 1;
    /** A pending execution waits for the running one to finish (it was dispatched while the item was running). */
    static final long RERUN = 1L << 2;
    /** A cancelSync() is in progress: enqueue fails. */
    static final long CANCELING = 1L << 3;
    /** The pending execution waits for a delay timer (DelayedWork only). */
    static final long TIMER = 1L << 4;
    private static final int SEQ_SHIFT = 8;
    private static final long SEQ_ONE = 1L << SEQ_SHIFT;

    private static final VarHandle STATE;
    private static final VarHandle DONE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(WorkItem.class, "state", long.class);
            DONE = l.findVarHandle(WorkItem.class, "doneSeq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Runnable function;
    private final String name;

    @SuppressWarnings("unused") // through STATE
    private volatile long state;
    /** Sequence number of the last execution that finished or was cancelled. Only grows. */
    @SuppressWarnings("unused") // through DONE
    private volatile long doneSeq;
    /** Threads waiting on {@link #monitor}; changed only while holding it. */
    private volatile int waiters;
    private final Object monitor = new Object();

    // Intrusive list links, guarded by the lock of the queue in linkedOn.
    WorkItem prev;
    WorkItem next;
    /** The queue whose list holds this item, or null. Written under that queue's lock. */
    volatile Workqueue linkedOn;
    /** The thread running the function now, or null. */
    private volatile Thread runner;

    WorkItem(String name, Runnable function) {
        this.function = Objects.requireNonNull(function, "function");
        this.name = name != null ? name : function.getClass().getName();
    }

    /** @return the name given at construction, or the function's class name */
    public final String name() {
        return name;
    }

    /** @return true if an execution is queued (or waiting for its delay) and has not started */
    public final boolean isPending() {
        return (state() & PENDING) != 0;
    }

    /** @return true if the function is executing now */
    public final boolean isRunning() {
        return (state() & RUNNING) != 0;
    }

    /**
     * Waits until the execution that is pending or running now (the last one queued before this call) has finished:
     * the kernel's {@code flush_work}. Executions queued after this call are not waited for. A pending execution that
     * is cancelled meanwhile counts as finished. For a {@link DelayedWork} whose delay has not elapsed, the
     * execution is queued at once and then waited for ({@code flush_delayed_work}).
     *
     * @return true if an execution was pending or running (it has finished now), false if the item was idle
     * @throws IllegalStateException if called from this item's own function
     */
    public final boolean flush() {
        checkNotSelf("flush()");
        long s = state();
        if ((s & (PENDING | RUNNING)) == 0) {
            return false;
        }
        queueTimerNow(null); // an armed delay is skipped: the execution is queued now
        awaitDone(seqOf(s));
        return true;
    }

    /**
     * Cancels the pending execution, if any, without waiting for a running one: the kernel's {@code cancel_work}
     * ({@code cancel_delayed_work}). A cancelled execution never starts. An execution that is already running
     * continues.
     *
     * @return true if an execution was pending and is now cancelled
     */
    public final boolean cancel() {
        return cancelPending();
    }

    /**
     * Cancels the pending execution and waits for a running one to finish: the kernel's {@code cancel_work_sync}.
     * While it runs, enqueueing this item returns false, so an item that re-queues itself is stopped too. On return
     * the item is neither pending nor running (until someone queues it again).
     *
     * @return true if an execution was pending and is now cancelled
     * @throws IllegalStateException if called from this item's own function
     */
    public final boolean cancelSync() {
        checkNotSelf("cancelSync()");
        for (;;) { // become the only canceller
            long s = state();
            if ((s & CANCELING) != 0) {
                waitUntil(() -> (state() & CANCELING) == 0);
            } else if (STATE.compareAndSet(this, s, s | CANCELING)) {
                break;
            }
        }
        try {
            boolean wasPending = cancelPending();
            waitUntil(() -> (state() & RUNNING) == 0);
            return wasPending;
        } finally {
            STATE.getAndBitwiseAnd(this, ~CANCELING);
            wakeWaiters();
        }
    }

    @Override
    public String toString() {
        long s = state();
        return getClass().getSimpleName() + "[" + name + ((s & PENDING) != 0 ? ", pending" : "")
                + ((s & RUNNING) != 0 ? ", running" : "") + "]";
    }

    // ---- package-private machinery, used by Workqueue and DelayedWork ----

    static long seqOf(long s) {
        return s >>> SEQ_SHIFT;
    }

    final long state() {
        return (long) STATE.getVolatile(this);
    }

    /** Atomically clears {@code bits}; returns the new state. */
    final long clear(long bits) {
        return (long) STATE.getAndBitwiseAnd(this, ~bits) & ~bits;
    }

    /**
     * Marks the item pending (with {@code extra} flags) if it is neither pending nor being cancelled.
     *
     * @return the new state if this call made it pending, -1 otherwise
     */
    final long tryMarkPending(long extra) {
        long s = state();
        for (;;) {
            if ((s & (PENDING | CANCELING)) != 0) {
                // Not ours to queue. The volatile write publishes the caller's earlier writes to the pending
                // execution: the worker's dispatch CAS reads this write or a later one.
                long p = (long) STATE.getAndAdd(this, 0L);
                if ((p & (PENDING | CANCELING)) != 0) {
                    return -1;
                }
                s = p; // it started in between: queue it again
                continue;
            }
            long n = (s + SEQ_ONE) | PENDING | extra;
            long w = (long) STATE.compareAndExchange(this, s, n);
            if (w == s) {
                return n;
            }
            s = w;
        }
    }

    /** Undoes a successful {@link #tryMarkPending} whose queueing failed. */
    final void abandonPending() {
        cancelled(clear(PENDING | TIMER));
    }

    /** Bookkeeping after a pending execution was cancelled; {@code now} is the state right after. */
    final void cancelled(long now) {
        if ((now & (PENDING | RUNNING)) == 0) {
            markDone(seqOf(now)); // idle: every execution up to now finished or was cancelled
        }
    }

    /**
     * Called by a worker, under its queue's lock, with the item just taken off the list.
     *
     * @return the sequence number of the execution to run now (non-negative), or, if the item is running elsewhere
     *         and the execution was deferred behind it (to run on that thread), the bitwise complement
     *         ({@code ~seq}, negative) of the deferred execution's sequence number, for {@link #awaitDone}
     */
    final long beginDispatch() {
        long s = state();
        for (;;) {
            boolean busy = (s & RUNNING) != 0;
            long n = busy ? s | RERUN : (s & ~PENDING) | RUNNING;
            long w = (long) STATE.compareAndExchange(this, s, n);
            if (w == s) {
                // s holds the sequence number of the pending execution: each successful enqueue counted it.
                return busy ? ~seqOf(s) : seqOf(s);
            }
            s = w;
        }
    }

    /** Runs the function (and deferred re-runs) on the calling worker; the item is RUNNING. */
    final void execute(Workqueue queue, long seq) {
        Thread me = Thread.currentThread();
        runner = me;
        for (;;) {
            try {
                function.run();
            } catch (Throwable t) {
                queue.workFailed(this, t);
            }
            if (Thread.interrupted()) {
                queue.strayInterrupt(this); // cleared: it must not leak into the next work item
            }
            runner = null;
            long s = state();
            for (;;) {
                long n = (s & RERUN) != 0 ? s & ~(RERUN | PENDING) : s & ~RUNNING;
                long w = (long) STATE.compareAndExchange(this, s, n);
                if (w == s) {
                    break;
                }
                s = w;
            }
            if ((s & RERUN) != 0) {
                markDone(seq);
                seq = seqOf(s);
                runner = me;
                continue;
            }
            markDone((s & PENDING) == 0 ? seqOf(s) : seq);
            return;
        }
    }

    /** Cancels the pending execution wherever it is; see {@link #cancel()}. */
    final boolean cancelPending() {
        int spins = 0;
        for (;;) {
            long s = state();
            if ((s & PENDING) == 0) {
                return false;
            }
            if ((s & TIMER) != 0) {
                if (cancelTimer()) {
                    return true;
                }
                continue; // the timer fired meanwhile: it is on its way to a queue
            }
            if ((s & RERUN) != 0) {
                long n = s & ~(PENDING | RERUN);
                if (STATE.compareAndSet(this, s, n)) {
                    cancelled(n);
                    return true;
                }
                continue;
            }
            Workqueue q = linkedOn;
            if (q != null) {
                long n = q.unlinkPending(this);
                if (n >= 0) {
                    cancelled(n);
                    return true;
                }
            }
            // In transit (being linked by an enqueue or a timer): a matter of a few instructions under a lock.
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    /** DelayedWork: cancel an armed timer. @return false if the timer is no longer armed */
    boolean cancelTimer() {
        return false;
    }

    /** DelayedWork: if the timer is armed (for {@code onlyFor}, or any queue if null), queue the execution now. */
    void queueTimerNow(Workqueue onlyFor) {
    }

    /** Waits until the execution with sequence number {@code seq} has finished or was cancelled. */
    final void awaitDone(long seq) {
        waitUntil(() -> (long) DONE.getVolatile(this) >= seq);
    }

    private void markDone(long seq) {
        long d = (long) DONE.getVolatile(this);
        while (d < seq) {
            long w = (long) DONE.compareAndExchange(this, d, seq);
            if (w == d) {
                break;
            }
            d = w;
        }
        wakeWaiters();
    }

    /**
     * After a volatile write that a waiter may be waiting for: the waiter increments {@link #waiters} (volatile)
     * before reading the condition, so either it sees our write or we see its count and notify under the monitor.
     */
    private void wakeWaiters() {
        if (waiters != 0) {
            synchronized (monitor) {
                monitor.notifyAll();
            }
        }
    }

    private void waitUntil(BooleanSupplier condition) {
        if (condition.getAsBoolean()) {
            return;
        }
        boolean interrupted = false;
        synchronized (monitor) {
            waiters++; // only ever changed under the monitor, so ++ on the volatile is not racy
            try {
                while (!condition.getAsBoolean()) {
                    try {
                        monitor.wait();
                    } catch (InterruptedException e) {
                        interrupted = true; // the kernel's waits are uninterruptible; report it on return
                    }
                }
            } finally {
                waiters--;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void checkNotSelf(String op) {
        if (runner == Thread.currentThread()) {
            throw new IllegalStateException(op + " of " + this + " called from its own work function: it would wait"
                    + " for itself forever");
        }
    }
}
