package dev.ferrum.driver.pci;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One MSI-X vector of a {@link PciDevice}, delivered as a callback, as a pollable count, or both.
 *
 * <p>Delivery: each interrupt the device raises increments {@link #pending()} and runs the handler, if one is set,
 * on the device's interrupt thread (the "hard IRQ" context: keep it short and hand the real work to a
 * {@link dev.ferrum.driver.workqueue.Workqueue}). Interrupts that arrive together may be coalesced into one
 * delivery with a count greater than one, as an eventfd does.
 *
 * <p>Invariants: every interrupt is counted exactly once in {@link #total()}; {@link #take()} and
 * {@link #await(Duration)} consume pending interrupts, each exactly once across all callers. A handler that throws
 * is logged and does not stop delivery.
 *
 * <p>Memory ordering: what the device wrote before raising the interrupt (a completion entry) is visible to the
 * handler and to a thread returning from {@link #await}; drivers still read completion entries with acquire
 * ordering because a completion may be seen before its interrupt.
 */
public final class InterruptVector {
    private static final Logger LOG = LoggerFactory.getLogger(InterruptVector.class);

    private final int index;
    private final String name;
    private final AtomicLong pending = new AtomicLong();
    private final AtomicLong total = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private volatile int waiters;
    private volatile Runnable handler;

    InterruptVector(int index, String name) {
        this.index = index;
        this.name = name;
    }

    /** {@return the vector number} */
    public int index() {
        return index;
    }

    /**
     * Sets the handler run on the interrupt thread for each delivery ({@code null} to remove it). Pending counts are
     * kept either way.
     */
    public void setHandler(Runnable handler) {
        this.handler = handler;
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
        Runnable h = handler;
        if (h != null) {
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
