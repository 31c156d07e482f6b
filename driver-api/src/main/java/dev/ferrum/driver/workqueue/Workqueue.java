package dev.ferrum.driver.workqueue;

import dev.ferrum.memory.internal.LiveResources;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A queue of {@link Work} items run by a pool of worker threads: the kernel's {@code workqueue_struct}.
 *
 * <p><b>Queues.</b> Four shared system queues exist, as in the kernel: {@link #system()} ({@code system_wq}),
 * {@link #systemHighPri()}, {@link #systemLong()} and {@link #systemUnbound()}; they cannot be destroyed. A driver
 * that needs ordering, its own concurrency limit or a clean teardown builds its own queue with
 * {@link #builder(String)}: {@code ordered()} ({@code alloc_ordered_workqueue}: one item at a time, in queueing
 * order), {@code maxActive(n)} (at most {@code n} items of this queue run at once), {@code highPriority()}.
 *
 * <p><b>Threads, and why.</b> Each queue has its own workers, started on demand up to its max-active limit and
 * retired after {@value #KEEP_ALIVE_SECONDS} s without work, so an idle queue holds no threads.
 * <ul>
 *   <li>{@link #system()}, {@link #systemLong()}, {@link #systemUnbound()}, ordered queues and builder queues by
 *       default use <em>virtual threads</em>. Work items are short bursts that often block (on a {@code Mutex}, on
 *       a device, on a completion); a blocked virtual thread releases its carrier, which is what the kernel's
 *       concurrency-managed workqueues achieve by waking another worker when one sleeps. Workers are cheap to
 *       start and park, so max-active limits of hundreds cost nothing until used. Java threads are not bound to
 *       CPUs, so {@code system()} and {@code systemUnbound()} differ only in their limits (256 and 512, the
 *       kernel's {@code WQ_DFL_ACTIVE} and {@code WQ_MAX_ACTIVE}); {@code systemLong()} is a separate pool so long
 *       items do not delay short ones. A CPU-bound item occupies a carrier of the shared virtual-thread scheduler
 *       while it runs: keep items short, as in the kernel.</li>
 *   <li>{@link #systemHighPri()} and {@code highPriority()} queues use dedicated daemon <em>platform threads</em>
 *       at {@link Thread#MAX_PRIORITY}: their latency must not depend on how busy the shared virtual-thread
 *       scheduler is (completion bottom halves). {@code systemHighPri()} has one worker per available processor.
 *       Java priorities are hints (HotSpot on Linux ignores them by default), so the dedicated threads are the
 *       guarantee, the priority a bonus.</li>
 * </ul>
 *
 * <p><b>Enqueue</b> may be called from any thread, including interrupt-dispatch threads: it never blocks for long
 * (a CAS on the item, then a short critical section on the queue's lock to link the item and wake or start a
 * worker) and allocates nothing (the item is its own list node; starting a new worker allocates the thread). It
 * returns false if the item is already pending; see {@link WorkItem} for the exact semantics and memory ordering.
 *
 * <p><b>Failures.</b> A work function that throws does not kill its worker: the throwable is logged through SLF4J
 * (ERROR, with the item and queue names), counted in {@link #failures()}, and the worker takes the next item. A
 * function that leaves its thread interrupted has the interrupt cleared (and logged) before the next item.
 *
 * <p><b>Teardown.</b> {@link #flush()} waits for the items pending or running when it is called.
 * {@link #destroy()} drains the queue (runs everything queued, including items queued by its own items while
 * draining and delayed items whose timers are still armed, which run at once) and then refuses all further work
 * with {@link IllegalStateException}. While it drains, only the queue's own work items may queue on it (chained
 * work, as the kernel allows); other threads get the exception.
 *
 * <p><b>Ordered queues and items running elsewhere.</b> When an ordered queue reaches an item that is still running
 * on another queue's worker, the item's next execution runs on that worker right after the current one (an item
 * never runs on two threads at once), and the ordered queue waits for it before it starts its next item; until then
 * the item counts as the ordered queue's running item for {@link #flush()} and {@link #destroy()}.
 *
 * <p>Invariants: at most {@link #maxActive()} items of this queue execute at once (exactly one for an ordered
 * queue, in FIFO order, including an execution it had to leave to another queue's worker); a linked item is pending and in exactly one queue's list; after {@code destroy()} returns,
 * the queue holds no items, no armed timers and no threads.
 */
public final class Workqueue {

    /** The largest max-active limit, the kernel's {@code WQ_MAX_ACTIVE}: {@value}. */
    public static final int MAX_ACTIVE_LIMIT = 512;

    /** The default max-active limit, the kernel's {@code WQ_DFL_ACTIVE}: {@value}. */
    public static final int DEFAULT_MAX_ACTIVE = MAX_ACTIVE_LIMIT / 2;

    /** How long an idle worker waits for work before it exits: {@value} seconds. */
    public static final int KEEP_ALIVE_SECONDS = 10;

    private static final long KEEP_ALIVE_NANOS = TimeUnit.SECONDS.toNanos(KEEP_ALIVE_SECONDS);
    private static final Logger LOG = LoggerFactory.getLogger(Workqueue.class);
    private static final ThreadLocal<Worker> CURRENT_WORKER = new ThreadLocal<>();

    private static final int OPEN = 0;
    private static final int DRAINING = 1;
    private static final int DESTROYED = 2;

    /** The kernel's system queues. Creating a queue starts no thread, so they can share one holder. */
    private static final class SystemQueues {
        static final Workqueue EVENTS = new Workqueue("events", DEFAULT_MAX_ACTIVE, false, false, true);
        static final Workqueue HIGHPRI = new Workqueue("events_highpri",
                Math.min(MAX_ACTIVE_LIMIT, Runtime.getRuntime().availableProcessors()), false, true, true);
        static final Workqueue LONG = new Workqueue("events_long", DEFAULT_MAX_ACTIVE, false, false, true);
        static final Workqueue UNBOUND = new Workqueue("events_unbound", MAX_ACTIVE_LIMIT, false, false, true);
    }

    private final String name;
    private final int maxActive;
    private final boolean ordered;
    private final boolean highPriority;
    private final boolean system;
    private final LongAdder failures = new LongAdder();

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when the queue may have become empty and inactive, and when the last worker retires. */
    private final Condition quiescent = lock.newCondition();
    // Guarded by lock:
    private WorkItem head;
    private WorkItem tail;
    private final ArrayList<Worker> workers = new ArrayList<>();
    private final ArrayDeque<Worker> idle = new ArrayDeque<>();
    private final HashSet<DelayedWork> armed = new HashSet<>();
    private int active;
    private int threadsStarted;
    /** OPEN, DRAINING or DESTROYED; written under lock, read without it on the fast path. */
    private volatile int phase = OPEN;

    private Workqueue(String name, int maxActive, boolean ordered, boolean highPriority, boolean system) {
        this.name = name;
        this.maxActive = maxActive;
        this.ordered = ordered;
        this.highPriority = highPriority;
        this.system = system;
    }

    /** @return the system queue ({@code system_wq}, "events"): virtual threads, max-active 256 */
    public static Workqueue system() {
        return SystemQueues.EVENTS;
    }

    /**
     * @return the high-priority system queue ({@code system_highpri_wq}): dedicated platform threads at maximum
     *         priority, one per available processor
     */
    public static Workqueue systemHighPri() {
        return SystemQueues.HIGHPRI;
    }

    /** @return the system queue for long-running items ({@code system_long_wq}): virtual threads, max-active 256 */
    public static Workqueue systemLong() {
        return SystemQueues.LONG;
    }

    /** @return the unbound system queue ({@code system_unbound_wq}): virtual threads, max-active 512 */
    public static Workqueue systemUnbound() {
        return SystemQueues.UNBOUND;
    }

    /**
     * Starts building a queue of one's own ({@code alloc_workqueue}).
     *
     * @param name the queue's name, used in thread names and log messages
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * Builds a {@link Workqueue}. Defaults: not ordered, max-active {@value #DEFAULT_MAX_ACTIVE}, virtual threads.
     *
     * <p>Invariants: an ordered queue has max-active 1.
     */
    public static final class Builder {
        private final String name;
        private int maxActive = -1;
        private boolean ordered;
        private boolean highPriority;

        private Builder(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank()) {
                throw new IllegalArgumentException("workqueue name must not be blank, got \"" + name + "\"");
            }
            this.name = name;
        }

        /** One item at a time, in queueing order ({@code alloc_ordered_workqueue}); implies max-active 1. */
        public Builder ordered() {
            ordered = true;
            return this;
        }

        /**
         * @param n at most this many items of the queue run at once
         * @throws IllegalArgumentException unless {@code 1 <= n <= MAX_ACTIVE_LIMIT}
         */
        public Builder maxActive(int n) {
            if (n < 1 || n > MAX_ACTIVE_LIMIT) {
                throw new IllegalArgumentException("maxActive " + n + " is out of range [1, " + MAX_ACTIVE_LIMIT
                        + "]");
            }
            maxActive = n;
            return this;
        }

        /** Dedicated platform threads at maximum priority ({@code WQ_HIGHPRI}) instead of virtual threads. */
        public Builder highPriority() {
            highPriority = true;
            return this;
        }

        /**
         * @return the new queue (no thread is started until work arrives)
         * @throws IllegalStateException if {@code ordered()} was combined with {@code maxActive(n)}, {@code n > 1}
         */
        public Workqueue build() {
            if (ordered && maxActive > 1) {
                throw new IllegalStateException("workqueue '" + name + "': an ordered queue runs one item at a time,"
                        + " but maxActive(" + maxActive + ") was requested");
            }
            int limit = ordered ? 1 : maxActive > 0 ? maxActive : DEFAULT_MAX_ACTIVE;
            return new Workqueue(name, limit, ordered, highPriority, false);
        }
    }

    /**
     * Queues {@code work} unless it is already pending ({@code queue_work}). See {@link WorkItem} for the memory
     * ordering, also when it returns false.
     *
     * @return true if queued, false if it was already pending (or a {@code cancelSync()} of it is in progress)
     * @throws IllegalStateException if this queue is destroyed, or being destroyed and the caller is not one of its
     *         own work items
     */
    public boolean enqueue(Work work) {
        Objects.requireNonNull(work, "work");
        return enqueueNow(work);
    }

    /**
     * Queues {@code work} after {@code delay} unless it is already pending ({@code queue_delayed_work}); a zero
     * delay queues it at once.
     *
     * @return true if queued (or its timer armed), false if it was already pending
     * @throws IllegalArgumentException if {@code delay} is negative
     * @throws IllegalStateException as for {@link #enqueue(Work)}
     */
    public boolean enqueue(DelayedWork work, Duration delay) {
        Objects.requireNonNull(work, "work");
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay " + delay + " of " + work + " is negative");
        }
        if (delay.isZero()) {
            return enqueueNow(work);
        }
        checkAccepting();
        long nanos;
        try {
            nanos = delay.toNanos();
        } catch (ArithmeticException tooLong) {
            nanos = Long.MAX_VALUE;
        }
        return work.arm(this, nanos);
    }

    private boolean enqueueNow(WorkItem work) {
        checkAccepting();
        if (work.tryMarkPending(0) < 0) {
            return false;
        }
        Worker toWake;
        lock.lock();
        try {
            if (!accepting()) {
                work.abandonPending();
                throw rejected();
            }
            toWake = appendLocked(work);
        } finally {
            lock.unlock();
        }
        wake(toWake);
        return true;
    }

    /**
     * Waits until every item that is pending or running on this queue now has finished ({@code flush_workqueue}).
     * Items queued later are not waited for; armed delayed items are not pending here yet and are not waited for.
     * One edge is not covered on a queue that is not ordered: an item queued here while it was still running on
     * <em>another</em> queue's worker is handed to that worker (an item never runs twice at once), and this queue's
     * flush no longer sees it (use {@link WorkItem#flush()} for such an item). An ordered queue keeps such an item
     * as its running item until the other worker has run it, so its flush, its {@code destroy()} and its FIFO order
     * cover it. Waits uninterruptibly (the interrupt status is restored on
     * return).
     *
     * @throws IllegalStateException if called from one of this queue's own work items (it would wait for itself)
     */
    public void flush() {
        checkNotOwnWorker("flush()");
        List<WorkItem> items = new ArrayList<>();
        List<Long> seqs = new ArrayList<>();
        lock.lock();
        try {
            for (WorkItem w = head; w != null; w = w.next) {
                items.add(w);
                seqs.add(WorkItem.seqOf(w.state()));
            }
            for (Worker k : workers) {
                if (k.current != null) {
                    items.add(k.current);
                    seqs.add(WorkItem.seqOf(k.current.state())); // the latest execution: covers a deferred re-run
                }
            }
        } finally {
            lock.unlock();
        }
        for (int i = 0; i < items.size(); i++) {
            items.get(i).awaitDone(seqs.get(i));
        }
    }

    /**
     * Drains and destroys the queue ({@code destroy_workqueue}): runs every queued item (armed delayed items at
     * once; items queued by this queue's own items while it drains are run too), then stops the workers and refuses
     * further work. Waits uninterruptibly.
     *
     * @throws UnsupportedOperationException for a system queue
     * @throws IllegalStateException if the queue is already destroyed or being destroyed, or if called from one of
     *         its own work items
     */
    public void destroy() {
        if (system) {
            throw new UnsupportedOperationException("the system workqueue '" + name + "' cannot be destroyed");
        }
        checkNotOwnWorker("destroy()");
        lock.lock();
        try {
            if (phase != OPEN) {
                throw new IllegalStateException("workqueue '" + name + "' is already "
                        + (phase == DRAINING ? "being destroyed" : "destroyed"));
            }
            phase = DRAINING;
        } finally {
            lock.unlock();
        }
        drain();
        lock.lock();
        try {
            phase = DESTROYED;
            for (Worker k : idle) {
                k.woken = true;
                LockSupport.unpark(k.thread);
            }
            idle.clear();
            while (!workers.isEmpty()) {
                quiescent.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** @return the name given to the builder (or the kernel's name for a system queue) */
    public String name() {
        return name;
    }

    /** @return how many items of this queue may run at once */
    public int maxActive() {
        return maxActive;
    }

    /** @return true for an ordered queue (one item at a time, FIFO) */
    public boolean isOrdered() {
        return ordered;
    }

    /** @return true if the workers are dedicated maximum-priority platform threads, false for virtual threads */
    public boolean isHighPriority() {
        return highPriority;
    }

    /** @return true once {@link #destroy()} has completed */
    public boolean isDestroyed() {
        return phase == DESTROYED;
    }

    /** @return how many work functions run by this queue have thrown */
    public long failures() {
        return failures.sum();
    }

    @Override
    public String toString() {
        return "Workqueue[" + name + ", maxActive=" + maxActive + (ordered ? ", ordered" : "")
                + (highPriority ? ", highpri" : "") + (phase == OPEN ? "" : phase == DRAINING ? ", draining"
                : ", destroyed") + "]";
    }

    // ---- internals ----

    private void checkAccepting() {
        if (phase != OPEN && !accepting()) {
            throw rejected();
        }
    }

    private boolean accepting() {
        int p = phase;
        return p == OPEN || (p == DRAINING && isOwnWorker());
    }

    private boolean isOwnWorker() {
        Worker k = CURRENT_WORKER.get();
        return k != null && k.queue() == this;
    }

    private IllegalStateException rejected() {
        return new IllegalStateException(phase == DESTROYED
                ? "workqueue '" + name + "' is destroyed: it accepts no more work"
                : "workqueue '" + name + "' is being destroyed: while it drains only its own work items may queue"
                        + " on it");
    }

    private void checkNotOwnWorker(String op) {
        if (isOwnWorker()) {
            throw new IllegalStateException(op + " of workqueue '" + name + "' called from one of its own work"
                    + " items: it would wait for itself forever");
        }
    }

    private void append(WorkItem w) {
        w.prev = tail;
        w.next = null;
        if (tail == null) {
            head = w;
        } else {
            tail.next = w;
        }
        tail = w;
        w.linkedOn = this;
    }

    private void unlink(WorkItem w) {
        if (w.prev == null) {
            head = w.next;
        } else {
            w.prev.next = w.next;
        }
        if (w.next == null) {
            tail = w.prev;
        } else {
            w.next.prev = w.prev;
        }
        w.prev = null;
        w.next = null;
        w.linkedOn = null;
    }

    /**
     * Under lock: links {@code w} at the tail and picks a worker for it: an idle one (marked woken), or a new one if
     * the max-active limit allows, or none (a busy worker will take it).
     *
     * @return the worker to {@link #wake} after unlocking, or null
     */
    private Worker appendLocked(WorkItem w) {
        append(w);
        Worker k = idle.pollFirst();
        if (k != null) {
            k.woken = true;
            return k;
        }
        if (workers.size() >= maxActive) {
            return null;
        }
        k = new Worker();
        String threadName = "ferrum-wq-" + name + "-" + (++threadsStarted);
        k.thread = highPriority
                ? Thread.ofPlatform().name(threadName).daemon(true).priority(Thread.MAX_PRIORITY).unstarted(k)
                : Thread.ofVirtual().name(threadName).unstarted(k);
        k.unstarted = true;
        workers.add(k);
        return k;
    }

    /** Outside the lock: unparks the worker {@link #appendLocked} picked, or starts it if it is new. */
    private void wake(Worker k) {
        if (k == null) {
            return;
        }
        if (!k.unstarted) {
            LockSupport.unpark(k.thread);
            return;
        }
        k.unstarted = false;
        if (!system) {
            // System queues are shared by the JVM and keep idle workers by design; a driver's own queue must not
            // outlive its destroy(): the leak check watches these.
            LiveResources.thread(k.thread, "worker of workqueue '" + name + "'");
        }
        try {
            k.thread.start();
        } catch (Throwable e) { // cannot create a thread: forget the worker; the item waits for another one
            lock.lock();
            try {
                workers.remove(k);
            } finally {
                lock.unlock();
            }
            throw e;
        }
    }

    /** Called by a pending item's cancel. @return the item's new state if it was unlinked, -1 if not linked here */
    long unlinkPending(WorkItem w) {
        lock.lock();
        try {
            if (w.linkedOn != this) {
                return -1;
            }
            unlink(w);
            signalIfQuiescentLocked();
            return w.clear(WorkItem.PENDING);
        } finally {
            lock.unlock();
        }
    }

    /** A delayed item armed its timer for this queue. */
    void addArmed(DelayedWork w) {
        lock.lock();
        try {
            if (!accepting()) {
                throw rejected();
            }
            armed.add(w);
        } finally {
            lock.unlock();
        }
    }

    /** A delayed item's timer was cancelled. */
    void removeArmed(DelayedWork w) {
        lock.lock();
        try {
            armed.remove(w);
            signalIfQuiescentLocked();
        } finally {
            lock.unlock();
        }
    }

    /** A delayed item's timer expired (or was flushed): it moves to the list. Accepted while draining. */
    void linkFromTimer(DelayedWork w) {
        Worker toWake;
        lock.lock();
        try {
            armed.remove(w);
            toWake = appendLocked(w);
        } finally {
            lock.unlock();
        }
        wake(toWake);
    }

    private void signalIfQuiescentLocked() {
        if (head == null && active == 0) {
            quiescent.signalAll();
        }
    }

    void workFailed(WorkItem w, Throwable t) {
        failures.increment();
        LOG.error("work item {} on workqueue '{}' threw; the worker carries on", w.name(), name, t);
    }

    void strayInterrupt(WorkItem w) {
        LOG.warn("work item {} on workqueue '{}' left its thread interrupted; the interrupt was cleared", w.name(),
                name);
    }

    /** Runs until every queued item has run, no item runs and no timer is armed for this queue. */
    private void drain() {
        for (;;) {
            List<DelayedWork> timers;
            lock.lock();
            try {
                timers = new ArrayList<>(armed);
            } finally {
                lock.unlock();
            }
            for (DelayedWork d : timers) {
                d.queueTimerNow(this);
            }
            lock.lock();
            try {
                while (head != null || active > 0) {
                    quiescent.awaitUninterruptibly();
                }
                if (armed.isEmpty()) {
                    return;
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** A worker thread: takes items off the list and executes them; parks when there are none. */
    private final class Worker implements Runnable {
        Thread thread;
        /** True from creation until the one thread that created it starts it. */
        boolean unstarted;
        /** Set (under lock) by whoever takes this worker off the idle stack. */
        volatile boolean woken;
        /** The item being executed, guarded by lock. */
        WorkItem current;

        Workqueue queue() {
            return Workqueue.this;
        }

        @Override
        public void run() {
            CURRENT_WORKER.set(this);
            try {
                loop();
            } finally {
                CURRENT_WORKER.remove();
            }
        }

        private void loop() {
            for (;;) {
                WorkItem w;
                long seq;
                lock.lock();
                try {
                    for (;;) {
                        w = head;
                        if (w != null) {
                            unlink(w);
                            seq = w.beginDispatch();
                            if (seq < 0 && !ordered) {
                                continue; // running on another worker: it runs this execution next
                            }
                            // An ordered queue whose item was deferred behind its execution on another queue's
                            // worker stays busy until that deferred execution finished (see awaitDeferred).
                            current = w;
                            active++;
                            break;
                        }
                        if (phase == DESTROYED || !idleWait()) {
                            workers.remove(this);
                            if (workers.isEmpty()) {
                                quiescent.signalAll();
                            }
                            return;
                        }
                    }
                } finally {
                    lock.unlock();
                }
                if (seq >= 0) {
                    w.execute(Workqueue.this, seq);
                } else {
                    awaitDeferred(w, ~seq);
                }
                lock.lock();
                try {
                    current = null;
                    active--;
                    signalIfQuiescentLocked();
                } finally {
                    lock.unlock();
                }
            }
        }

        /**
         * Ordered queues only, without the lock: the item was queued here while it was still running on another
         * queue's worker, so that worker runs this execution when the current one returns (an item never runs on two
         * threads at once). Until it has finished (or was cancelled), this worker stays the queue's one active
         * worker: the next item cannot start before it (FIFO order holds), and {@code flush()} and {@code destroy()}
         * wait for it. The execution itself runs on the other queue's thread, so a failure is counted there.
         */
        private void awaitDeferred(WorkItem w, long seq) {
            w.awaitDone(seq);
            Thread.interrupted(); // awaitDone re-asserts an interrupt it swallowed: keep it from the next item
        }

        /**
         * Called and returns with the lock held; parks without it.
         *
         * @return true to look for work again, false to retire (keep-alive expired and nothing is queued)
         */
        private boolean idleWait() {
            woken = false;
            idle.addFirst(this);
            lock.unlock();
            try {
                long deadline = System.nanoTime() + KEEP_ALIVE_NANOS;
                while (!woken) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    LockSupport.parkNanos(this, left);
                    Thread.interrupted(); // an interrupt must not turn parking into spinning
                }
            } finally {
                lock.lock();
            }
            if (woken) {
                return true;
            }
            idle.remove(this);
            return head != null;
        }
    }
}
