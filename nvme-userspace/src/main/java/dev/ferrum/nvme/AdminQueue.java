package dev.ferrum.nvme;

import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.nvme.internal.Queue;
import dev.ferrum.nvme.internal.Request;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The admin queue pair: thread-safe (a {@link Mutex} around the queue), with one 4 KiB data page per command slot
 * owned by the queue, so that a command abandoned after a timeout can never DMA into memory the caller has reused.
 * Completions are reaped by whichever thread holds the lock: synchronous callers poll while they wait, the admin
 * interrupt's bottom half and the controller's watchdog reap the rest (asynchronous events).
 *
 * <p>Timeouts: a command still outstanding past its timeout makes the controller reset, as Linux's
 * {@code nvme_timeout} does for the admin queue (an Abort would itself be an admin command behind the stuck one).
 * A synchronous caller notices at its deadline and gets {@link NvmeTimeoutException}; the watchdog notices the
 * rest ({@link #expired}). The slot and its data page stay taken until the reset has disabled the controller, so
 * the device can never write into a page handed to another command; the reset then fails and frees every slot.
 *
 * <p>Resets: from the moment a reset begins ({@link #quiesce}) until it has rewound the rings and is enabling the
 * controller again ({@link #resume}), submissions are refused, as Linux quiesces its admin queue during a reset. A
 * command written into the rings then would be lost when they are rewound, and its doorbell write would reach a
 * disabled controller, which may act on it after the re-enable, fetching stale ring entries. A submission may also
 * name the controller generation it belongs to (re-creating a queue pair after a reset): it is refused once the
 * admin queue serves another generation, so a late command of an old generation never reaches a newer one.
 *
 * <p>A waiter stops waiting early, with an {@link NvmeException}, when the controller reports fatal status
 * ({@code CSTS.CFS}) or wrote an invalid admin completion: the device will complete nothing more until it is reset,
 * so waiting out the timeout would only delay the recovery (the caller, or the watchdog, resets it).
 *
 * <p>Invariants: data pages are copied out (or the command failed) before a slot is freed; each command's future
 * completes exactly once; a slot is freed only by its completion or after the controller was disabled; no command
 * is submitted while the admin queue is quiesced, or for a generation other than the one it serves.
 */
final class AdminQueue implements Queue.Sink {
    static final long PAGE = 4096;
    /** How often a waiter checks for fatal status. */
    private static final long FATAL_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /**
     * What a command's completion must do: copy data out, complete the future. {@code deadline} is a
     * {@link System#nanoTime()} value, or 0 for a command that may wait forever (Asynchronous Event Request).
     */
    private record Pending(String what, MemorySegment dataOut, CompletableFuture<Integer> future, long deadline,
                           long timeoutMillis) {}

    private final Mutex<Queue> lock;
    /** The queue the lock protects, for {@link #completed}, which runs inside {@link #poll} with the lock held. */
    private final Queue queue;
    /** Completions reaped under the lock, delivered after it is released (futures run callers' code). */
    private final List<Runnable> deliveries = new ArrayList<>();
    private final DmaBuffer dataPages;
    private final Consumer<String> deviceFault;
    /**
     * The device wrote an invalid completion entry: reap nothing more until the reset rewinds the rings. Otherwise
     * every poll until then would read the same entry and report it again, and one seen after the reset began
     * (under the new generation) would cause a second reset. Written only under the lock (set by
     * {@link #deviceFault}, which runs inside {@link #poll}; cleared by {@link #abortAllAndReset}), so the
     * check-then-set there needs nothing more. Volatile because {@link #await} reads it without the lock: the
     * volatile write and read order it, so a waiter that sees it set stops waiting for a command the device will
     * not complete, and one that sees it cleared sees the rewound rings too (they were written before it under the
     * lock, and the waiter's next poll takes the lock anyway).
     */
    private volatile boolean faulted;
    /** Told (once per caller that notices) that a command timed out: the controller must reset. */
    private final Consumer<String> timedOut;
    /** Whether waiters sleep until {@link #wakeWaiters()} (interrupts) rather than spin and back off. */
    private volatile boolean interrupts;
    private volatile long interruptFallbackNanos = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * An event count: bumped when a sleeping waiter may find its command done (an admin interrupt, or another
     * thread having delivered completions). A waiter reads it before polling and sleeps only while it is unchanged,
     * so no wake-up between its poll and its sleep is lost; nothing is consumed, so every waiter sees every bump.
     */
    private final AtomicLong wakeups = new AtomicLong();
    private final ReentrantLock sleepLock = new ReentrantLock();
    private final Condition woken = sleepLock.newCondition();
    private volatile int sleepers;
    /** Whether submissions are accepted (false from {@link #quiesce} to {@link #resume}). Guarded by the lock. */
    private boolean online;
    /** The controller generation the admin queue serves. Guarded by the lock. */
    private long epoch;
    /** Reads whether the controller reports fatal status (CSTS.CFS): a waiter then stops waiting. */
    private final BooleanSupplier fatalStatus;

    AdminQueue(int entries, DmaPool pool, Mmio regs, int dstrd, Consumer<String> deviceFault,
               Consumer<String> timedOut, BooleanSupplier fatalStatus) {
        Queue q = new Queue(0, entries, pool, regs, dstrd);
        try {
            this.dataPages = pool.allocate(PAGE * q.capacity());
        } catch (RuntimeException e) {
            q.release();
            throw e;
        }
        this.queue = q;
        this.lock = new Mutex<>(q, LockClass.named("nvme.admin"));
        this.deviceFault = deviceFault;
        this.timedOut = timedOut;
        this.fatalStatus = fatalStatus;
    }

    /** A reset begins: refuse submissions until {@link #resume}. */
    void quiesce() {
        try (Guard<Queue> g = lock.lock()) {
            online = false;
        }
    }

    /**
     * The rings are rewound and the controller is being enabled for generation {@code generation}: accept
     * submissions again.
     */
    void resume(long generation) {
        try (Guard<Queue> g = lock.lock()) {
            epoch = generation;
            online = true;
        }
    }

    long sqAddress() {
        return lock.with(Queue::sqAddress);
    }

    long cqAddress() {
        return lock.with(Queue::cqAddress);
    }

    int entries() {
        return lock.with(q -> q.entries);
    }

    /**
     * Waiters sleep until {@link #wakeWaiters()} (called from the admin vector's handler) instead of spinning, and
     * poll anyway after {@code fallback} in case an interrupt was lost.
     */
    void useInterrupts(Duration fallback) {
        this.interruptFallbackNanos = fallback.toNanos();
        this.interrupts = true;
    }

    /**
     * Wakes every sleeping waiter to poll. Called on the interrupt thread (short, no allocation) and after a thread
     * delivered completions.
     */
    void wakeWaiters() {
        wakeups.incrementAndGet(); // volatile write, then the read of sleepers: pairs with sleep()'s opposite order
        if (sleepers > 0) {
            sleepLock.lock();
            try {
                woken.signalAll();
            } finally {
                sleepLock.unlock();
            }
        }
    }

    /** Sleeps until the event count moves from {@code seen}, or {@code nanos} elapse. */
    private void sleep(long seen, long nanos) throws InterruptedException {
        sleepLock.lock();
        try {
            sleepers++; // volatile write, then the read of wakeups
            try {
                while (wakeups.get() == seen && nanos > 0) {
                    nanos = woken.awaitNanos(nanos);
                }
            } finally {
                sleepers--;
            }
        } finally {
            sleepLock.unlock();
        }
    }

    /**
     * Submits an admin command.
     *
     * @param timeout how long the command may be outstanding before the controller is reset, or null for no limit
     * @param prp1    a device address for PRP1 (queue memory for Create I/O Queue), or 0 to use the data page
     * @param dataIn  bytes to place in the command's data page (PRP1), or null
     * @param dataOut where to copy the data page on success, or null for a command without data
     * @return the future of the completion's DW0; it fails with {@link NvmeCommandException} on an error status
     */
    CompletableFuture<Integer> submit(String what, Duration timeout, int opcode, int nsid, long prp1,
                                      MemorySegment dataIn,
                                      MemorySegment dataOut, int cdw10, int cdw11, int cdw12, int cdw13, int cdw14,
                                      int cdw15) {
        return submitIn(0, what, timeout, opcode, nsid, prp1, dataIn, dataOut, cdw10, cdw11, cdw12, cdw13, cdw14,
                cdw15);
    }

    /**
     * {@link #submit}, for controller generation {@code generation} (0: whichever is current).
     *
     * @throws NvmeException if the admin queue is quiesced for a reset, or serves another generation
     */
    private CompletableFuture<Integer> submitIn(long generation, String what, Duration timeout, int opcode, int nsid,
                                                long prp1, MemorySegment dataIn, MemorySegment dataOut, int cdw10,
                                                int cdw11, int cdw12, int cdw13, int cdw14, int cdw15) {
        CompletableFuture<Integer> future = new CompletableFuture<>();
        try (Guard<Queue> g = lock.lock()) {
            Queue q = g.get();
            if (!online) {
                throw new NvmeException(what + " not submitted: the controller is resetting (admin queue quiesced)");
            }
            if (generation != 0 && generation != epoch) {
                throw new NvmeException(what + " not submitted: it belongs to controller generation " + generation
                        + ", but the controller was reset since (now generation " + epoch + ")");
            }
            Request r = q.allocate();
            if (r == null) {
                throw new QueueFullException("admin queue full (" + q.capacity() + " commands outstanding)");
            }
            boolean data = dataIn != null || dataOut != null;
            MemorySegment page = dataPages.segment().asSlice(r.cid * PAGE, PAGE);
            if (dataIn != null) {
                page.fill((byte) 0);
                MemorySegment.copy(dataIn, 0, page, 0, Math.min(PAGE, dataIn.byteSize()));
            }
            long p1 = prp1 != 0 ? prp1 : data ? dataPages.deviceAddress(r.cid * PAGE) : 0;
            r.command(opcode, nsid, p1, 0, cdw10, cdw11, cdw12, cdw13, cdw14, cdw15);
            long deadline = 0;
            if (timeout != null) {
                deadline = System.nanoTime() + timeout.toNanos();
                deadline = deadline == 0 ? 1 : deadline; // 0 means "no deadline"
            }
            r.context = new Pending(what, dataOut, future, deadline, timeout == null ? 0 : timeout.toMillis());
            q.submit(r);
            q.ringDoorbell();
        }
        return future;
    }

    /** Submits and waits. {@return DW0} */
    int execute(String what, Duration timeout, int opcode, int nsid, long prp1, MemorySegment dataOut, int cdw10,
                int cdw11, int cdw12) {
        return executeIn(0, what, timeout, opcode, nsid, prp1, dataOut, cdw10, cdw11, cdw12);
    }

    /** Submits for controller generation {@code generation} (0: any) and waits. {@return DW0} */
    int executeIn(long generation, String what, Duration timeout, int opcode, int nsid, long prp1,
                  MemorySegment dataOut, int cdw10, int cdw11, int cdw12) {
        CompletableFuture<Integer> f = submitIn(generation, what, timeout, opcode, nsid, prp1, null, dataOut, cdw10,
                cdw11, cdw12, 0, 0, 0);
        return await(f, what, timeout);
    }

    /** Waits for {@code f}, reaping completions meanwhile. */
    int await(CompletableFuture<Integer> f, String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long nextFatalCheck = System.nanoTime();
        int spins = 0;
        while (!f.isDone()) {
            // Read before polling: a wake-up after this read ends the sleep below at once.
            long seen = wakeups.get();
            poll();
            if (f.isDone()) {
                break;
            }
            long now = System.nanoTime();
            if (now - nextFatalCheck >= 0) {
                // At most once a millisecond: a register read is slow on real hardware.
                nextFatalCheck = now + FATAL_CHECK_NANOS;
                String dead = faulted ? "the controller wrote an invalid admin completion entry"
                        : fatalStatus.getAsBoolean() ? "the controller reports fatal status (CSTS.CFS)" : null;
                if (dead != null && !f.isDone()) {
                    throw new NvmeException(what + " abandoned: " + dead + "; it completes nothing more until it "
                            + "is reset (the reset reclaims the command's slot)");
                }
            }
            long left = deadline - now;
            if (left <= 0) {
                String reason = what + " timed out after " + timeout.toMillis() + " ms";
                timedOut.accept(reason);
                throw new NvmeTimeoutException(reason + "; the controller is being reset, which reclaims the "
                        + "command's slot (it stays reserved until the device can no longer write into it)");
            }
            if (interrupts && spins > 100) {
                try {
                    // Not the vector's await(): the vector may be shared with I/O queue pairs, and other admin
                    // waiters may be waiting too; the event count consumes nothing, so none takes another's wake-up.
                    sleep(seen, Math.min(left, interruptFallbackNanos));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new NvmeException(what + " interrupted while waiting", e);
                }
            } else if (++spins > 1000) {
                LockSupport.parkNanos(Math.min(left, 20_000));
            } else {
                Thread.onSpinWait();
            }
        }
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw e;
        }
    }

    /** Reaps whatever completed. {@return the number of completions} */
    int poll() {
        List<Runnable> ready;
        int n;
        try (Guard<Queue> g = lock.lock()) {
            n = faulted ? 0 : g.get().reap(this, Integer.MAX_VALUE);
            if (deliveries.isEmpty()) {
                return n;
            }
            ready = List.copyOf(deliveries);
            deliveries.clear();
        }
        // Outside the lock: a future's dependants may submit admin commands.
        ready.forEach(Runnable::run);
        wakeWaiters(); // a waiter that polled while this thread held the completions sees its future done now
        return n;
    }

    /**
     * The watchdog's check. {@return a description of the first command outstanding past its deadline, or null}
     * Reports a command again on every call until the reset has failed it; the controller merges the requests.
     */
    String expired(long now) {
        try (Guard<Queue> g = lock.lock()) {
            Queue q = g.get();
            for (int cid = 0; cid < q.capacity(); cid++) {
                Request r = q.slot(cid);
                if (r.state != Request.FREE && r.context instanceof Pending p && p.deadline() != 0
                        && now - p.deadline() > 0) {
                    return p.what() + " (admin CID " + cid + ") timed out after " + p.timeoutMillis() + " ms";
                }
            }
        }
        return null;
    }

    /** Runs inside {@link #poll} with the lock held. */
    @Override
    public void completed(Request r, int dw0, int status) {
        Pending p = (Pending) r.context;
        int s = IoStatus.fromCompletion(status);
        if (s == IoStatus.SUCCESS && p.dataOut() != null) {
            MemorySegment page = dataPages.segment().asSlice(r.cid * PAGE, PAGE);
            MemorySegment.copy(page, 0, p.dataOut(), 0, Math.min(PAGE, p.dataOut().byteSize()));
        }
        queue.free(r);
        if (s == IoStatus.SUCCESS) {
            deliveries.add(() -> p.future().complete(dw0));
        } else {
            deliveries.add(() -> p.future().completeExceptionally(IoStatus.toException(s, p.what())));
        }
    }

    @Override
    public void deviceFault(String what) {
        if (!faulted) {
            faulted = true;
            deviceFault.accept("admin queue: " + what);
        }
    }

    /**
     * After the controller was disabled: fails every outstanding command with {@code cause} (the device can no longer
     * complete them) and rewinds the rings for a fresh start.
     */
    void abortAllAndReset(RuntimeException cause) {
        List<Pending> failed = new ArrayList<>();
        try (Guard<Queue> g = lock.lock()) {
            Queue q = g.get();
            for (int cid = 0; cid < q.capacity(); cid++) {
                Request r = q.slot(cid);
                if (r.state != Request.FREE) {
                    failed.add((Pending) r.context);
                    q.free(r);
                }
            }
            q.resetRings();
            faulted = false;
        }
        long now = System.nanoTime();
        for (Pending p : failed) {
            if (p.deadline() != 0 && now - p.deadline() > 0) {
                // It timed out (which is likely why the controller was reset): say so, whoever noticed first.
                p.future().completeExceptionally(new NvmeTimeoutException(p.what() + " timed out after "
                        + p.timeoutMillis() + " ms; " + cause.getMessage()));
            } else {
                p.future().completeExceptionally(cause);
            }
        }
    }

    /** The controller is about to be enabled: it will own the rings until it is disabled again. */
    void deviceOwnsRings(boolean owns) {
        try (Guard<Queue> g = lock.lock()) {
            g.get().deviceOwnsRings(owns);
        }
    }

    /** Frees the rings and data pages; the controller must be disabled (or gone). */
    void release() {
        try (Guard<Queue> g = lock.lock()) {
            g.get().deviceOwnsRings(false);
            g.get().release();
        }
        dataPages.close();
    }
}
