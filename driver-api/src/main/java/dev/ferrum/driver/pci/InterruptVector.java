package dev.ferrum.driver.pci;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One MSI-X vector of a {@link PciDevice}, delivered as a callback, as a pollable count, or both.
 *
 * <p>Delivery: each interrupt the device raises increments {@link #pending()} and runs every registered handler,
 * in registration order, on the device's interrupt thread (the "hard IRQ" context: keep it short and hand the real
 * work to a {@link dev.ferrum.driver.workqueue.Workqueue}). Interrupts that arrive together may be coalesced into one
 * delivery with a count greater than one, as an eventfd does.
 *
 * <p>Sharing: when a device has fewer vectors than queues, several users share one vector, as with Linux's
 * {@code IRQF_SHARED}: each registers its own handler with {@link #addHandler} and removes exactly that one with
 * {@link #removeHandler}; every delivery runs all of them, and each checks its own queue. {@link #setHandler}
 * replaces all handlers and suits a vector with a single user only. The {@link #pending()} count is one per vector:
 * with several users, each should wake its waiters from a handler of its own rather than wait with
 * {@link #await(Duration)}, which hands each interrupt to only one waiter.
 *
 * <p>Invariants: every interrupt is counted exactly once in {@link #total()}; {@link #take()} and
 * {@link #await(Duration)} consume pending interrupts, each exactly once across all callers; each delivery runs each
 * handler registered when the delivery began exactly once. A handler that throws is logged and does not stop
 * delivery, to it or to the other handlers.
 *
 * <p>Memory ordering: what the device wrote before raising the interrupt (a completion entry) is visible to the
 * handler and to a thread returning from {@link #await}; drivers still read completion entries with acquire
 * ordering because a completion may be seen before its interrupt.
 */
public final class InterruptVector {
    private static final Logger LOG = LoggerFactory.getLogger(InterruptVector.class);
    private static final Runnable[] NO_HANDLERS = new Runnable[0];

    private final int index;
    private final String name;
    private final AtomicLong pending = new AtomicLong();
    private final AtomicLong total = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private volatile int waiters;
    /**
     * The registered handlers: copy-on-write, never modified once published. Written only under
     * {@link #registration}; volatile, so the interrupt thread, which reads it without the lock, sees a complete
     * array and everything its handlers' registrants did before registering them.
     */
    private volatile Runnable[] handlers = NO_HANDLERS;
    private final Object registration = new Object();

    InterruptVector(int index, String name) {
        this.index = index;
        this.name = name;
    }

    /** {@return the vector number} */
    public int index() {
        return index;
    }

    /**
     * Replaces every handler with {@code handler} ({@code null} to remove them all). Pending counts are kept either
     * way. For a vector with one user; users sharing a vector use {@link #addHandler} and {@link #removeHandler}, so
     * that none removes another's handler.
     */
    public void setHandler(Runnable handler) {
        synchronized (registration) {
            handlers = handler == null ? NO_HANDLERS : new Runnable[] {handler};
        }
    }

    /**
     * Adds {@code handler} to those run on each delivery, after the ones already registered. Deliveries that began
     * before this call may not run it.
     *
     * @throws NullPointerException if handler is null
     */
    public void addHandler(Runnable handler) {
        Objects.requireNonNull(handler, "interrupt handler");
        synchronized (registration) {
            Runnable[] old = handlers;
            Runnable[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = handler;
            handlers = grown;
        }
    }

    /**
     * Removes one registration of {@code handler} (compared by identity), leaving the other handlers in place. A
     * delivery already running when this is called may still run it once more; handlers must tolerate that late
     * call (unlike Linux's {@code free_irq}, this does not wait for running handlers, so a handler may remove
     * itself).
     *
     * @return whether it was registered
     */
    public boolean removeHandler(Runnable handler) {
        synchronized (registration) {
            Runnable[] old = handlers;
            for (int i = 0; i < old.length; i++) {
                if (old[i] == handler) {
                    Runnable[] shrunk = new Runnable[old.length - 1];
                    System.arraycopy(old, 0, shrunk, 0, i);
                    System.arraycopy(old, i + 1, shrunk, i, old.length - i - 1);
                    handlers = shrunk.length == 0 ? NO_HANDLERS : shrunk;
                    return true;
                }
            }
            return false;
        }
    }

    /** {@return how many handlers are registered} */
    public int handlerCount() {
        return handlers.length;
    }

    /** {@return interrupts delivered and not yet taken} */
    public long pending() {
        return pending.get();
    }

    /** {@return all interrupts delivered so far} */
    public long total() {
        return total.get();
    }

    /** {@return the pending interrupts, now consumed (0 if none)} Never blocks. */
    public long take() {
        return pending.getAndSet(0);
    }

    /**
     * Waits until at least one interrupt is pending, then consumes all pending.
     *
     * @return the number consumed, 0 if the timeout elapsed first
     * @throws InterruptedException if the waiting thread is interrupted
     */
    public long await(Duration timeout) throws InterruptedException {
        long n = take();
        if (n != 0) {
            return n;
        }
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            waiters++;
            try {
                while ((n = take()) == 0) {
                    if (nanos <= 0) {
                        return 0;
                    }
                    nanos = arrived.awaitNanos(nanos);
                }
                return n;
            } finally {
                waiters--;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Called by the interrupt thread with the count read from the vector's eventfd. */
    void deliver(long count) {
        pending.addAndGet(count);
        total.addAndGet(count);
        if (waiters > 0) {
            lock.lock();
            try {
                arrived.signalAll();
            } finally {
                lock.unlock();
            }
        }
        // A volatile read: a complete array, and what the registrants did before registering. No allocation per
        // interrupt: the array is read, never copied, here.
        Runnable[] hs = handlers;
        for (Runnable h : hs) {
            try {
                h.run();
            } catch (RuntimeException | Error e) {
                LOG.error("{}: interrupt handler threw; delivery continues", name, e);
            }
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
