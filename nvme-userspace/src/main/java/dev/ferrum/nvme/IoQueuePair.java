package dev.ferrum.nvme;

import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.SpinLock;
import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.nvme.internal.NvmeCommandEvent;
import dev.ferrum.nvme.internal.Queue;
import dev.ferrum.nvme.internal.Request;
import dev.ferrum.sys.nvme.Nvme;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One I/O submission/completion queue pair of an {@link NvmeController}: submit reads, writes, flushes, write-zeroes
 * and deallocates on a {@link Namespace}, and complete them by polling or by interrupt. Obtained from
 * {@link NvmeController#createQueuePair(QueuePairOptions)}.
 *
 * <p>Three ways to submit: synchronous ({@link #read(Namespace, long, int, DmaBuffer)}: waits, throws on error);
 * {@link CompletableFuture} ({@link #readAsync}); and the allocation-free callback form
 * ({@link #read(Namespace, long, int, DmaBuffer, IoCallback, long)}), completed by {@link #processCompletions(int)}.
 * Transfers larger than {@link #maxCommandBytes()} (MDTS, at most 2 MiB) are split into several commands and
 * complete once.
 *
 * <p>Queue slots: every command takes one of {@link #capacity()} slots until it completes, so a split transfer
 * takes {@link #commandsFor(Namespace, int) commandsFor(ns, blocks)} slots, and a queue sized for N outstanding
 * I/Os holds only N / that many of them. A synchronous call never fails for lack of slots: it sends what fits,
 * waits for free slots (completing other commands meanwhile) up to the command timeout, and then throws
 * {@link NvmeTimeoutException}. An asynchronous call (future or callback) does not wait: if its commands do not all
 * fit now, it throws {@link QueueFullException} and sends nothing, so the caller can complete some and retry.
 *
 * <p>Checks before anything is sent: LBA range inside the namespace, block count, the buffer large enough, mapped
 * for this controller and dword aligned, the namespace open, the pair open, the right thread. A data buffer is
 * pinned from submission to completion, so it cannot be freed while the device may still access it.
 *
 * <p>Threading: an {@link QueuePairOptions.Threading#OWNER_THREAD OWNER_THREAD} pair takes no lock and refuses other
 * threads ({@link WrongThreadException}); a {@link QueuePairOptions.Threading#SHARED SHARED} pair serializes on a
 * spin lock and delivers callbacks outside it. Callbacks run on the thread that processes completions. The
 * owner-thread callback form is the allocation-free path; a shared pair allocates a small array per batch of
 * completions it hands out of the lock.
 *
 * <p>Timeouts and recovery: a command outstanding longer than its timeout is aborted (admin Abort); if the abort
 * does not complete it, the controller is reset. After a reset, outstanding commands are resubmitted (up to
 * {@link NvmeOptions#maxRetries()} times) or completed with an error: never lost, never completed twice. An
 * owner-thread pair performs its part of the recovery on its owner's next call, as SPDK's qpairs do.
 *
 * <p>Invariants: at most {@link #capacity()} commands are outstanding; every submitted command completes exactly
 * once (callback, future, or exception); a data buffer is unpinned only after its command completed, or after the
 * controller was disabled so the device can no longer reach it.
 */
public final class IoQueuePair implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IoQueuePair.class);
    static final long PAGE = 4096;
    /** One PRP list page holds 512 entries: with PRP1 that is 513 pages, enough for 2 MiB at any offset. */
    static final long MAX_COMMAND_BYTES = 2L << 20;
    /** How long a submitter waits before retrying a recovery that could not proceed yet (see {@code enter}). */
    private static final long RECOVERY_RETRY_NANOS = 1_000_000;
    private static final int OPEN = 0;
    private static final int FAILED = 1;
    private static final int CLOSED = 2;

    private final NvmeController ctrl;
    private final int qid;
    private final Queue q;
    private final DmaBuffer prpPages;
    private final MemorySegment prp;
    private final Thread owner;
    private final SpinLock<Queue> lock;
    private final boolean autoDoorbell;
    private final long timeoutNanos;
    private final long abortTimeoutNanos;
    private final int maxRetries;
    private final InterruptVector vector;
    private final int vectorIndex;
    /**
     * This pair's handler on its MSI-X vector, which other pairs and the admin queue may share: registered with
     * {@link InterruptVector#addHandler} and removed by identity on close, so no pair disturbs another's. Null when
     * polling.
     */
    private final Runnable interruptHandler;
    /** How long an owner waiting for an interrupt sleeps before it polls anyway (a lost interrupt costs this). */
    private final long interruptFallbackNanos;
    /**
     * Set by the interrupt handler of an owner-thread pair, cleared by the owner before it reaps: an interrupt came
     * since the owner last looked, so it need not sleep. Volatile: the handler runs on the interrupt thread.
     */
    private volatile boolean interruptSeen;
    /** Deliveries on this pair's vector that ran its handler; written only by the device's interrupt thread. */
    private volatile long interruptsHandled;
    private final long maxCommandBytes;
    private final Sink sink = new Sink();
    private final SyncWaiter ownerWaiter = new SyncWaiter();
    /** Completions gathered during one reap, delivered after it (and, for a shared pair, after unlocking). */
    private final Object[] doneContext;
    private final long[] doneTag;
    private final int[] doneStatus;
    private int doneCount;
    private final Work reapWork;
    private final Workqueue bottomHalves;
    private volatile int state = OPEN;
    /** The controller generation whose device-side queues this pair is using. */
    private volatile long generation;
    private long clock;
    private long lastTimeoutCheck;
    private int polls;
    private boolean resetRequested;
    /** The device wrote an invalid completion: stop reading this CQ until the controller has been reset. */
    private boolean faulted;
    /** Buffers of commands failed while the device might still DMA: unpinned only once it is disabled. */
    private final List<DmaBuffer> leakedPins = new ArrayList<>();
    /** Buffers registered with this pair (pinned once; released when the pair's memory is released). */
    private final List<DmaBuffer> registered = new ArrayList<>();

    IoQueuePair(NvmeController ctrl, int qid, int entries, QueuePairOptions options, DmaPool pool,
                InterruptVector vector, int vectorIndex, Workqueue bottomHalves) {
        this.ctrl = ctrl;
        this.qid = qid;
        this.q = new Queue(qid, entries, pool, ctrl.regs(), ctrl.dstrd());
        try {
            this.prpPages = pool.allocate(PAGE * q.capacity());
        } catch (RuntimeException e) {
            q.release();
            throw e;
        }
        this.prp = prpPages.segment();
        this.owner = options.threading() == QueuePairOptions.Threading.OWNER_THREAD ? Thread.currentThread() : null;
        this.lock = owner == null ? new SpinLock<>(q, LockClass.named("nvme.ioqp")) : null;
        this.autoDoorbell = options.autoDoorbell();
        this.timeoutNanos = (options.commandTimeout() != null ? options.commandTimeout()
                : ctrl.options().commandTimeout()).toNanos();
        this.abortTimeoutNanos = ctrl.options().abortTimeout().toNanos();
        this.maxRetries = ctrl.options().maxRetries();
        this.vector = vector;
        this.vectorIndex = vectorIndex;
        this.maxCommandBytes = ctrl.maxCommandBytes();
        this.doneContext = new Object[q.capacity()];
        this.doneTag = new long[q.capacity()];
        this.doneStatus = new int[q.capacity()];
        this.clock = System.nanoTime();
        this.lastTimeoutCheck = clock;
        this.interruptFallbackNanos = ctrl.options().interruptFallback().toNanos();
        this.reapWork = owner == null ? new Work("nvme qp " + qid + " completions", this::reapInBackground) : null;
        this.bottomHalves = bottomHalves;
        if (vector == null) {
            this.interruptHandler = null;
        } else {
            // The hard-IRQ half. The vector may be shared, so the handler only does this pair's part: a shared pair
            // reaps on a workqueue; an owner-thread pair wakes its owner, who reaps on its own thread.
            Thread wake = owner;
            this.interruptHandler = wake == null ? () -> {
                interruptsHandled++;
                bottomHalves.enqueue(reapWork);
            } : () -> {
                interruptsHandled++;
                interruptSeen = true;
                LockSupport.unpark(wake);
            };
        }
    }

    /** {@return how many interrupts ran this pair's handler} For tests: completions came by interrupt. */
    long interruptsHandled() {
        return interruptsHandled;
    }

    /** Called by the controller once the queues exist on the device. */
    void activated(long generation) {
        this.generation = generation;
        if (vector != null) {
            // Only now: the vector may be shared (with the admin queue, whose Create I/O Queue completions raise it
            // too), and a handler running before the pair is active would take it for a pair left over from a
            // reset. Registration publishes the handler, and through it this pair, to the interrupt thread.
            vector.addHandler(interruptHandler);
        }
    }

    /**
     * {@return the controller generation whose device-side queues this pair uses} When it is not the controller's
     * current one, a reset has removed the queues from the device and the pair has not recreated them yet.
     */
    long deviceGeneration() {
        return generation;
    }

    Queue queue() {
        return q;
    }

    int vectorIndex() {
        return vectorIndex;
    }

    boolean interruptDriven() {
        return vector != null;
    }

    boolean isShared() {
        return owner == null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Public API
    // ---------------------------------------------------------------------------------------------------------

    /** {@return the queue ID (1-based; 0 is the admin queue)} */
    public int id() {
        return qid;
    }

    /** {@return the queue size in entries} */
    public int depth() {
        return q.entries;
    }

    /** {@return how many commands can be outstanding at once (depth - 1)} */
    public int capacity() {
        return q.capacity();
    }

    /** {@return commands submitted and not yet completed} Exact on the owner thread; a snapshot otherwise. */
    public int outstanding() {
        return q.outstanding();
    }

    /** {@return the largest transfer one command carries here (MDTS, at most 2 MiB); larger ones are split} */
    public long maxCommandBytes() {
        return maxCommandBytes;
    }

    /**
     * {@return how many commands, hence queue slots, a read or write of {@code blocks} blocks of {@code ns} takes
     * here} (Write Zeroes and Deallocate are split at 65536 blocks per command; a flush is one command.)
     *
     * @throws IllegalArgumentException if {@code blocks} is not positive
     */
    public int commandsFor(Namespace ns, int blocks) {
        if (blocks < 1) {
            throw new IllegalArgumentException(blocks + " blocks: at least 1 is needed");
        }
        return commandCount(blocks, blocksPerCommand(Nvme.NVME_CMD_READ(), ns));
    }

    private int blocksPerCommand(int opcode, Namespace ns) {
        if (opcode == Nvme.NVME_CMD_FLUSH()) {
            return 1;
        }
        boolean data = opcode == Nvme.NVME_CMD_READ() || opcode == Nvme.NVME_CMD_WRITE();
        int perCommand = (int) Math.min(65536, data ? maxCommandBytes >>> ns.blockShift() : 65536); // a shift
        if (perCommand == 0) {
            // A namespace formatted with blocks larger than the controller's MDTS: not even one block fits.
            throw new UnsupportedOperationException("namespace " + ns.id() + " has blocks of " + ns.blockSize()
                    + " bytes, more than the " + maxCommandBytes + " bytes one command may carry here (MDTS): "
                    + "no read or write of it fits in a command; reformat it with a smaller LBA format");
        }
        return perCommand;
    }

    private static int commandCount(int blocks, int perCommand) {
        return blocks <= perCommand ? 1 : (int) ((blocks + (long) perCommand - 1) / perCommand);
    }

    /** {@return whether the pair is open} */
    public boolean isOpen() {
        return state == OPEN;
    }

    // ---- Callback form: allocation-free ----

    /** Reads {@code blocks} blocks at {@code lba} into {@code buffer}; completion through {@code callback}. */
    public void read(Namespace ns, long lba, int blocks, DmaBuffer buffer, IoCallback callback, long tag) {
        submit(Nvme.NVME_CMD_READ(), ns, lba, blocks, buffer, 0, callback, tag);
    }

    /** Writes {@code blocks} blocks at {@code lba} from {@code buffer}; completion through {@code callback}. */
    public void write(Namespace ns, long lba, int blocks, DmaBuffer buffer, IoCallback callback, long tag) {
        submit(Nvme.NVME_CMD_WRITE(), ns, lba, blocks, buffer, 0, callback, tag);
    }

    /** Flushes the namespace's volatile write cache; completion through {@code callback}. */
    public void flush(Namespace ns, IoCallback callback, long tag) {
        submit(Nvme.NVME_CMD_FLUSH(), ns, 0, 0, null, 0, callback, tag);
    }

    /** Writes zeroes to {@code blocks} blocks at {@code lba} without transferring data. */
    public void writeZeroes(Namespace ns, long lba, int blocks, IoCallback callback, long tag) {
        submit(Nvme.NVME_CMD_WRITE_ZEROES(), ns, lba, blocks, null, 0, callback, tag);
    }

    /** Deallocates (trims) {@code blocks} blocks at {@code lba} (Dataset Management, attribute deallocate). */
    public void deallocate(Namespace ns, long lba, int blocks, IoCallback callback, long tag) {
        submit(Nvme.NVME_CMD_DSM(), ns, lba, blocks, null, 0, callback, tag);
    }

    // ---- Future form ----

    public CompletableFuture<Void> readAsync(Namespace ns, long lba, int blocks, DmaBuffer buffer) {
        return submitFuture(Nvme.NVME_CMD_READ(), ns, lba, blocks, buffer);
    }

    public CompletableFuture<Void> writeAsync(Namespace ns, long lba, int blocks, DmaBuffer buffer) {
        return submitFuture(Nvme.NVME_CMD_WRITE(), ns, lba, blocks, buffer);
    }

    public CompletableFuture<Void> flushAsync(Namespace ns) {
        return submitFuture(Nvme.NVME_CMD_FLUSH(), ns, 0, 0, null);
    }

    public CompletableFuture<Void> writeZeroesAsync(Namespace ns, long lba, int blocks) {
        return submitFuture(Nvme.NVME_CMD_WRITE_ZEROES(), ns, lba, blocks, null);
    }

    public CompletableFuture<Void> deallocateAsync(Namespace ns, long lba, int blocks) {
        return submitFuture(Nvme.NVME_CMD_DSM(), ns, lba, blocks, null);
    }

    // ---- Synchronous form ----

    /**
     * Reads and waits. Any size: transfers beyond what fits in the queue at once are sent in waves.
     *
     * @throws NvmeCommandException on an error status; {@link NvmeTimeoutException}; {@link ControllerFailedException}
     */
    public void read(Namespace ns, long lba, int blocks, DmaBuffer buffer) {
        sync(Nvme.NVME_CMD_READ(), ns, lba, blocks, buffer);
    }

    /** Writes and waits; see {@link #read(Namespace, long, int, DmaBuffer)}. */
    public void write(Namespace ns, long lba, int blocks, DmaBuffer buffer) {
        sync(Nvme.NVME_CMD_WRITE(), ns, lba, blocks, buffer);
    }

    /** Flushes and waits. */
    public void flush(Namespace ns) {
        sync(Nvme.NVME_CMD_FLUSH(), ns, 0, 0, null);
    }

    /** Writes zeroes and waits. */
    public void writeZeroes(Namespace ns, long lba, int blocks) {
        sync(Nvme.NVME_CMD_WRITE_ZEROES(), ns, lba, blocks, null);
    }

    /** Deallocates and waits. */
    public void deallocate(Namespace ns, long lba, int blocks) {
        sync(Nvme.NVME_CMD_DSM(), ns, lba, blocks, null);
    }

    /**
     * Registers {@code buffer} with this queue pair: it is pinned once now instead of on every command that uses it,
     * which saves two atomic operations per I/O (SPDK's and io_uring's registered buffers). It cannot be closed while
     * registered; {@link #unregisterBuffer} or closing the pair ends the registration.
     *
     * @throws IllegalArgumentException if the buffer is not mapped for this controller
     * @throws IllegalStateException    if it is closed or registered elsewhere
     */
    public void registerBuffer(DmaBuffer buffer) {
        if (buffer.pool().addressSpace() != ctrl.addressSpace()) {
            throw new IllegalArgumentException(buffer + " is not DMA-mapped for controller " + ctrl.address());
        }
        if (owner != null) {
            checkOwner();
            buffer.register(this);
            registered.add(buffer);
        } else {
            try (Guard<Queue> g = lock.lock()) {
                buffer.register(this);
                registered.add(buffer);
            }
        }
    }

    /**
     * Ends a registration. Only while no command is outstanding on this pair (the device might still be using the
     * buffer otherwise).
     *
     * @throws IllegalStateException if commands are outstanding, or the buffer is not registered here
     */
    public void unregisterBuffer(DmaBuffer buffer) {
        if (owner != null) {
            checkOwner();
            unregisterLocked(buffer);
        } else {
            try (Guard<Queue> g = lock.lock()) {
                unregisterLocked(buffer);
            }
        }
    }

    private void unregisterLocked(DmaBuffer buffer) {
        if (q.outstanding() > 0) {
            throw new IllegalStateException("cannot unregister " + buffer + " from queue pair " + qid + ": "
                    + q.outstanding() + " command(s) outstanding may still use it");
        }
        buffer.unregister(this);
        registered.remove(buffer);
    }

    /**
     * Rings the submission doorbell for commands submitted with {@link QueuePairOptions#autoDoorbell()} off: one
     * doorbell write publishes the whole batch.
     */
    public void ringDoorbell() {
        if (owner != null) {
            enter();
            q.ringDoorbell();
        } else {
            try (Guard<Queue> g = lock.lock()) {
                enter();
                g.get().ringDoorbell();
            }
        }
    }

    /**
     * Completes up to {@code max} commands whose completions have arrived, running their callbacks on this thread.
     * Also notices timeouts, and performs this pair's part of a controller reset.
     *
     * @return the number of commands completed
     */
    public int processCompletions(int max) {
        if (owner != null) {
            checkOwner();
            if (prepareForPolling()) {
                reapLocked(max);
            }
        } else {
            try (Guard<Queue> g = lock.lock()) {
                if (prepareForPolling()) {
                    reapLocked(max);
                }
            }
        }
        return deliver();
    }

    /**
     * Waits up to {@code timeout} for at least one completion, then completes what arrived. In interrupt mode the
     * thread sleeps until the queue's vector fires; in polling mode it spins, then backs off.
     *
     * @return the number of commands completed (0 on timeout)
     */
    public int awaitCompletions(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int idle = 0;
        while (true) {
            int n = processCompletions(Integer.MAX_VALUE);
            if (n > 0) {
                return n;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return 0;
            }
            idle = backOff(idle, left);
        }
    }

    /**
     * Completes outstanding commands (waiting up to the command timeout), deletes the queues on the controller and
     * frees their memory. Commands still outstanding then are completed with {@link IoStatus#QUEUE_CLOSED}.
     * Idempotent.
     */
    @Override
    public void close() {
        if (owner != null && Thread.currentThread() != owner) {
            throw new WrongThreadException("queue pair " + qid + " is owned by thread " + owner.getName()
                    + "; close it there");
        }
        if (state == CLOSED) {
            return;
        }
        long deadline = System.nanoTime() + timeoutNanos;
        while (state == OPEN && outstanding() > 0 && System.nanoTime() < deadline) {
            awaitCompletions(Duration.ofMillis(10));
        }
        ctrl.deleteQueuePair(this);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Submission
    // ---------------------------------------------------------------------------------------------------------

    /** Asynchronous submission: all of the request's commands now, or {@link QueueFullException}. */
    private void submit(int opcode, Namespace ns, long lba, int blocks, DmaBuffer buffer, long offset,
                        Object context, long tag) {
        submit(opcode, ns, lba, blocks, buffer, offset, context, tag, false);
    }

    /**
     * Submits the request, or with {@code partial} as many of its leading commands as there are free slots.
     *
     * @return the blocks the submitted commands cover, or -1 if {@code partial} and no slot was free
     */
    private long submit(int opcode, Namespace ns, long lba, int blocks, DmaBuffer buffer, long offset,
                        Object context, long tag, boolean partial) {
        long sent;
        if (owner != null) {
            enter();
            sent = submitLocked(opcode, ns, lba, blocks, buffer, offset, context, tag, partial);
        } else {
            try (Guard<Queue> g = lock.lock()) {
                enter();
                sent = submitLocked(opcode, ns, lba, blocks, buffer, offset, context, tag, partial);
            }
            if (vector == null && !(context instanceof SyncWaiter)) {
                bottomHalves.enqueue(reapWork); // a shared polling pair completes asynchronous work in the background
            }
        }
        return sent;
    }

    private CompletableFuture<Void> submitFuture(int opcode, Namespace ns, long lba, int blocks, DmaBuffer buffer) {
        FutureCompletion f = new FutureCompletion(describe(opcode, ns, lba, blocks));
        submit(opcode, ns, lba, blocks, buffer, 0, f, 0);
        return f.future;
    }

    /**
     * A synchronous call: in waves of whatever fits in the free slots, each waited for. With no slot free (other
     * threads' or earlier asynchronous commands hold them all) it completes commands and waits, up to the command
     * timeout, rather than failing.
     */
    private void sync(int opcode, Namespace ns, long lba, int blocks, DmaBuffer buffer) {
        // The first wave's submission checks the whole request (state first), before any part of it is sent.
        SyncWaiter w = owner != null ? ownerWaiter : new SyncWaiter();
        long done = 0;
        while (true) {
            int rest = (int) (blocks - done);
            w.reset();
            long sent = submit(opcode, ns, lba + done, rest, buffer, done * ns.blockSize(), w, 0, true);
            if (sent < 0) {
                awaitFreeSlot(opcode, ns, lba + done, rest);
                continue; // nothing was sent: try this wave again
            }
            int idle = 0;
            long deadline = System.nanoTime() + 2 * (timeoutNanos + abortTimeoutNanos);
            while (!w.done) {
                if (processCompletions(Integer.MAX_VALUE) == 0 && !w.done) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        // The pair's own timeout handling should have completed it by now.
                        throw new NvmeTimeoutException(describe(opcode, ns, lba + done, (int) sent)
                                + " did not complete: the controller is not responding");
                    }
                    idle = backOff(idle, left);
                }
            }
            if (w.status != IoStatus.SUCCESS) {
                throw IoStatus.toException(w.status, describe(opcode, ns, lba + done, (int) sent));
            }
            done += sent;
            if (done >= blocks) {
                return; // a flush covers no blocks: it is done after its one wave
            }
        }
    }

    /** Completes commands until a slot is free, for at most the command timeout. */
    private void awaitFreeSlot(int opcode, Namespace ns, long lba, int blocks) {
        long deadline = System.nanoTime() + timeoutNanos;
        int idle = 0;
        while (capacity() - outstanding() <= 0) {
            if (processCompletions(Integer.MAX_VALUE) > 0) {
                continue;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new NvmeTimeoutException(describe(opcode, ns, lba, blocks) + " waited "
                        + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms for a free slot on queue pair " + qid
                        + ": all " + capacity() + " stayed taken by other commands");
            }
            idle = backOff(idle, left);
        }
    }

    private int backOff(int idle, long leftNanos) {
        if (vector != null && owner != null) {
            // Sleep until this pair's handler wakes us (not on the vector's pending count: other pairs sharing the
            // vector would consume it). A wake-up between our last reap and this park leaves the permit set, so
            // park returns at once: none is lost. Past the fallback, poll anyway in case an interrupt was lost.
            if (!interruptSeen) {
                LockSupport.parkNanos(this, Math.min(leftNanos, interruptFallbackNanos));
            }
            interruptSeen = false;
            if (Thread.currentThread().isInterrupted()) {
                throw new NvmeException("interrupted while waiting for completions on queue " + qid);
            }
            return idle;
        }
        if (idle < 2000) {
            Thread.onSpinWait();
        } else if (idle < 2100) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(Math.min(leftNanos, 20_000));
        }
        return idle + 1;
    }

    private long submitLocked(int opcode, Namespace ns, long lba, int blocks, DmaBuffer buffer, long offset,
                              Object context, long tag, boolean partial) {
        checkRequest(opcode, ns, lba, blocks, buffer, offset);
        int perCommand = blocksPerCommand(opcode, ns);
        int commands = commandCount(blocks, perCommand);
        int free = q.capacity() - q.outstanding();
        if (commands > free) {
            if (!partial) {
                throw new QueueFullException("queue pair " + qid + " has " + free + " of " + q.capacity()
                        + " slots free; " + describe(opcode, ns, lba, blocks) + " needs " + commands
                        + " (split at " + maxCommandBytes + " bytes per command): complete some commands first, or "
                        + "create the pair with a larger depth");
            }
            if (free == 0) {
                return -1;
            }
            commands = free;
            blocks = perCommand * free; // the leading part that fits; the caller sends the rest later
        }
        if (commands == 1) {
            issue(opcode, ns, lba, blocks, buffer, offset, context, tag);
        } else {
            Split split = new Split(context, tag, commands);
            for (int i = 0; i < commands; i++) {
                long first = (long) i * perCommand;
                int n = (int) Math.min(perCommand, blocks - first);
                issue(opcode, ns, lba + first, n, buffer, offset + first * ns.blockSize(), split, 0);
            }
        }
        if (autoDoorbell) {
            q.ringDoorbell();
        }
        return opcode == Nvme.NVME_CMD_FLUSH() ? 0 : blocks;
    }

    /** Every check a request must pass before any of it is sent; no side effects. */
    private void checkRequest(int opcode, Namespace ns, long lba, int blocks, DmaBuffer buffer, long offset) {
        ns.checkOpen();
        if (ns.controller() != ctrl) {
            throw new IllegalArgumentException("namespace " + ns.id() + " belongs to another controller");
        }
        if (opcode != Nvme.NVME_CMD_FLUSH()) {
            checkRange(opcode, ns, lba, blocks);
        }
        if (opcode == Nvme.NVME_CMD_READ() || opcode == Nvme.NVME_CMD_WRITE()) {
            checkBuffer(ns, blocks, buffer, offset);
        }
        if (opcode == Nvme.NVME_CMD_WRITE_ZEROES() && !ctrl.info().supportsWriteZeroes()) {
            throw new UnsupportedOperationException("controller " + ctrl.address() + " does not support Write Zeroes");
        }
        if (opcode == Nvme.NVME_CMD_DSM() && !ctrl.info().supportsDeallocate()) {
            throw new UnsupportedOperationException("controller " + ctrl.address()
                    + " does not support Dataset Management (deallocate)");
        }
    }

    private void checkRange(int opcode, Namespace ns, long lba, int blocks) {
        if (blocks < 1) {
            throw new IllegalArgumentException(opName(opcode) + " of " + blocks + " blocks: at least 1 is needed");
        }
        long size = ns.blockCount();
        if (lba < 0 || lba >= size || blocks > size - lba) {
            throw new IllegalArgumentException("LBA range [" + lba + ", " + (lba + (long) blocks) + ") is outside "
                    + "namespace " + ns.id() + " (" + size + " blocks of " + ns.blockSize() + " bytes)");
        }
    }

    private void checkBuffer(Namespace ns, int blocks, DmaBuffer buffer, long offset) {
        if (buffer == null) {
            throw new NullPointerException("data buffer is null");
        }
        long need = (long) blocks << ns.blockShift();
        if (buffer.byteSize() - offset < need) {
            throw new IllegalArgumentException("buffer of " + buffer.byteSize() + " bytes is too small for "
                    + blocks + " blocks of " + ns.blockSize() + " bytes (" + need + " bytes)");
        }
        if (buffer.pool().addressSpace() != ctrl.addressSpace()) {
            throw new IllegalArgumentException(buffer + " is not DMA-mapped for controller " + ctrl.address()
                    + ": allocate it from NvmeController.dmaPool()");
        }
        if (!buffer.isAlive()) { // before deviceAddress(), which refuses a closed buffer with a generic message
            throw new IllegalStateException("use after free: " + buffer + " is closed");
        }
        if (((buffer.deviceAddress() + offset) & 3) != 0) {
            throw new IllegalArgumentException(buffer + " is not 4-byte aligned, as NVMe requires of data buffers");
        }
    }

    /** Builds and submits one command. Caller has checked range, buffer and free slots. */
    private void issue(int opcode, Namespace ns, long lba, int blocks, DmaBuffer buffer, long offset, Object context,
                       long tag) {
        Request r = q.allocate();
        long prp1 = 0;
        long prp2 = 0;
        int cdw10 = 0;
        int cdw11 = 0;
        int cdw12 = 0;
        if (buffer != null) {
            if (!buffer.isRegisteredTo(this)) {
                buffer.pin(); // a registered buffer is pinned once, for as long as it is registered
                r.pinned = buffer;
            }
            long len = (long) blocks << ns.blockShift();
            long addr = buffer.deviceAddress() + offset;
            prp1 = addr;
            long first = PAGE - (addr & (PAGE - 1));
            if (len > first) {
                long next = addr + first;
                long rest = len - first;
                if (rest <= PAGE) {
                    prp2 = next;
                } else {
                    long list = r.cid * PAGE;
                    long pages = (rest + PAGE - 1) / PAGE;
                    for (long i = 0; i < pages; i++) {
                        prp.set(ValueLayout.JAVA_LONG_UNALIGNED, list + i * 8, next + i * PAGE);
                    }
                    prp2 = prpPages.deviceAddress() + list;
                }
            }
        }
        if (opcode == Nvme.NVME_CMD_DSM()) {
            // The range list (one 16-byte range: attributes, length, starting LBA) lives in the slot's PRP page.
            long list = r.cid * PAGE;
            prp.set(ValueLayout.JAVA_INT_UNALIGNED, list, 0);
            prp.set(ValueLayout.JAVA_INT_UNALIGNED, list + 4, blocks);
            prp.set(ValueLayout.JAVA_LONG_UNALIGNED, list + 8, lba);
            prp1 = prpPages.deviceAddress() + list;
            cdw10 = 0;          // NR: one range (0's based)
            cdw11 = 1 << 2;     // AD: deallocate
        } else if (opcode != Nvme.NVME_CMD_FLUSH()) {
            cdw10 = (int) lba;
            cdw11 = (int) (lba >>> 32);
            cdw12 = blocks - 1; // NLB, 0's based
        }
        r.command(opcode, ns.id(), prp1, prp2, cdw10, cdw11, cdw12, 0, 0, 0);
        r.context = context;
        r.tag = tag;
        r.retries = 0;
        r.deadlineNanos = 0; // set by the next timeout scan: no clock read on the submission path
        if (NvmeCommandEvent.ENABLED) {
            r.event = NvmeCommandEvent.begin(ctrl.address().toString(), qid, r.cid, opName(opcode), ns.id(), lba,
                    blocks);
        }
        q.submit(r);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Completion
    // ---------------------------------------------------------------------------------------------------------

    private void reapLocked(int max) {
        int limit = Math.min(max, q.capacity() - doneCount);
        int n = limit > 0 ? q.reap(sink, limit) : 0;
        if (n == 0 || (++polls & 63) == 0) {
            long now = System.nanoTime();
            clock = now;
            if (now - lastTimeoutCheck > 1_000_000L && q.outstanding() > 0) {
                lastTimeoutCheck = now;
                checkTimeouts(now);
            }
        }
    }

    /** Runs {@code reapLocked}'s completions: callbacks outside any lock. */
    private int deliver() {
        int n;
        Object[] ctx;
        if (owner != null) {
            n = doneCount;
            for (int i = 0; i < n; i++) {
                Object c = doneContext[i];
                doneContext[i] = null;
                complete(c, doneTag[i], doneStatus[i]);
            }
            doneCount = 0;
            return n;
        }
        // Shared: copy out under the lock, deliver after.
        long[] tags;
        int[] statuses;
        try (Guard<Queue> g = lock.lock()) {
            n = doneCount;
            if (n == 0) {
                return 0;
            }
            ctx = new Object[n];
            tags = new long[n];
            statuses = new int[n];
            System.arraycopy(doneContext, 0, ctx, 0, n);
            System.arraycopy(doneTag, 0, tags, 0, n);
            System.arraycopy(doneStatus, 0, statuses, 0, n);
            java.util.Arrays.fill(doneContext, 0, n, null);
            doneCount = 0;
        }
        for (int i = 0; i < n; i++) {
            complete(ctx[i], tags[i], statuses[i]);
        }
        return n;
    }

    private void complete(Object context, long tag, int status) {
        try {
            switch (context) {
                case IoCallback cb -> cb.complete(tag, status);
                case Split s -> {
                    if (s.childDone(status)) {
                        complete(s.context, s.tag, s.status);
                    }
                }
                default -> throw new IllegalStateException("unknown completion target " + context);
            }
        } catch (RuntimeException e) {
            LOG.error("completion callback on queue {} threw; completions continue", qid, e);
        }
    }

    private final class Sink implements Queue.Sink {
        @Override
        public void completed(Request r, int dw0, int statusField) {
            int status = IoStatus.fromCompletion(statusField);
            if (r.state == Request.ABORTING && status != IoStatus.SUCCESS) {
                status = IoStatus.TIMEOUT;
            }
            finish(r, status);
        }

        @Override
        public void deviceFault(String what) {
            if (!faulted) {
                faulted = true;
                ctrl.requestReset("queue " + qid + ": " + what, generation);
            }
        }
    }

    /** Frees the slot (unpinning its buffer) and queues its completion for delivery. */
    private void finish(Request r, int status) {
        if (r.event != null) {
            NvmeCommandEvent.end(r.event, status);
        }
        doneContext[doneCount] = r.context;
        doneTag[doneCount] = r.tag;
        doneStatus[doneCount] = status;
        doneCount++;
        q.free(r);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Timeouts, reset recovery, state
    // ---------------------------------------------------------------------------------------------------------

    private void checkTimeouts(long now) {
        for (int cid = 0; cid < q.capacity(); cid++) {
            Request r = q.slot(cid);
            if (r.state == Request.FREE) {
                continue;
            }
            if (r.deadlineNanos == 0) {
                r.deadlineNanos = now + timeoutNanos;
            } else if (now - r.deadlineNanos > 0) {
                if (r.state == Request.IN_FLIGHT) {
                    r.state = Request.ABORTING;
                    r.deadlineNanos = now + abortTimeoutNanos;
                    LOG.warn("{}: {} (cid {}) on queue {} timed out after {} ms; aborting", ctrl.address(),
                            describe(r), r.cid, qid, TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
                    ctrl.abortCommand(qid, r.commandId, generation);
                } else if (!resetRequested) {
                    resetRequested = true;
                    ctrl.requestReset(describe(r) + " (cid " + r.cid + ", queue " + qid
                            + ") did not complete after Abort", generation);
                }
            }
        }
    }

    private void checkOwner() {
        if (owner != null && Thread.currentThread() != owner) {
            throw new WrongThreadException("queue pair " + qid + " belongs to thread " + owner.getName()
                    + "; create a SHARED queue pair to use it from several threads");
        }
    }

    /** Checks thread and state at the start of every submission; performs pending recovery (waiting for it). */
    private void enter() {
        checkOwner();
        if (state != OPEN) {
            if (state == FAILED && q.outstanding() > 0) {
                failAll(ctrl.dmaStopped() ? IoStatus.CONTROLLER_FAILED : Integer.MIN_VALUE);
            }
            throw closedOrFailed();
        }
        while (generation != ctrl.generation()) {
            long seen = ctrl.generation();
            // Waits for the reset; false if another began meanwhile (wait for that one), if the admin queue was full,
            // or if recreating the queues failed and a new reset was requested but has not begun. In the last two
            // the generation has not moved: pause before sending Create I/O Queue again rather than spin on it.
            if (!recover(true) && ctrl.generation() == seen) {
                LockSupport.parkNanos(RECOVERY_RETRY_NANOS);
            }
        }
    }

    /**
     * Checks state before reaping, never waiting for a reset in progress. A failed pair completes whatever was
     * outstanding with an error (delivered by the caller).
     *
     * @return whether the queue can be reaped now
     */
    private boolean prepareForPolling() {
        if (state == CLOSED) {
            throw closedOrFailed();
        }
        if (state == FAILED) {
            if (q.outstanding() > 0) {
                failAll(ctrl.dmaStopped() ? IoStatus.CONTROLLER_FAILED : Integer.MIN_VALUE);
            }
            return false;
        }
        if (generation != ctrl.generation()) {
            return recover(false);
        }
        return !faulted; // an invalid completion was seen: wait for the reset rather than read garbage again
    }

    private RuntimeException closedOrFailed() {
        if (state == CLOSED) {
            return new IllegalStateException("queue pair " + qid + " of " + ctrl.address() + " is closed");
        }
        String why = ctrl.failureReason(); // e.g. "the device was removed": tell the user what happened
        return new ControllerFailedException("queue pair " + qid + " of " + ctrl.address()
                + " failed with its controller" + (why != null ? ": " + why : ""));
    }

    /**
     * This pair's part of a controller reset: once the controller is live again (so the device has been disabled
     * and can no longer touch the old queues), recreate the queues on the device and resubmit or fail every command
     * that was outstanding. Runs with access to the pair (owner thread or lock held).
     *
     * @param wait whether to wait for the reset to finish (submissions) or return false (polling)
     * @return whether the pair is usable now
     */
    boolean recover(boolean wait) {
        long g;
        try {
            g = ctrl.awaitLive(wait);
        } catch (ControllerFailedException e) {
            failAll(ctrl.dmaStopped() ? IoStatus.CONTROLLER_FAILED : Integer.MIN_VALUE);
            state = FAILED;
            if (wait) {
                throw e;
            }
            return false;
        }
        if (g < 0) {
            return false; // still resetting
        }
        List<Request> outstanding = new ArrayList<>();
        for (int cid = 0; cid < q.capacity(); cid++) {
            Request r = q.slot(cid);
            if (r.state != Request.FREE) {
                outstanding.add(r);
            }
        }
        q.resetRings();
        try {
            ctrl.createQueuesOnDevice(this, g);
        } catch (NvmeException e) {
            if (ctrl.generation() != g) {
                return false; // another reset began meanwhile; try again after it
            }
            if (e instanceof QueueFullException) {
                return false; // the admin queue is busy: try again on the next call
            }
            if (!(e instanceof NvmeCommandException)) {
                // Not the device refusing the queue: the command timed out, or the controller went fatal or wrote
                // an invalid completion. Another reset is needed (and requested: the watchdog or the timeout may
                // already have); the pair recovers after it. Its commands stay outstanding until then.
                ctrl.requestReset("queue " + qid + ": recreating it after a reset failed: " + e.getMessage(), g);
                return false;
            }
            LOG.error("{}: could not recreate queue pair {} after reset: {}", ctrl.address(), qid, e.getMessage());
            for (Request r : outstanding) {
                finish(r, IoStatus.ABORTED_BY_RESET);
            }
            state = FAILED;
            if (wait) {
                throw new ControllerFailedException("queue pair " + qid + " could not be recreated after a reset", e);
            }
            return false;
        }
        int resubmitted = 0;
        for (Request r : outstanding) {
            if (r.state == Request.ABORTING) {
                finish(r, IoStatus.TIMEOUT);
            } else if (r.retries >= maxRetries) {
                finish(r, IoStatus.ABORTED_BY_RESET);
            } else {
                r.retries++;
                r.deadlineNanos = 0;
                q.submit(r);
                resubmitted++;
            }
        }
        q.ringDoorbell();
        resetRequested = false;
        faulted = false;
        generation = g;
        LOG.info("{}: queue pair {} recovered: {} command(s) resubmitted, {} failed", ctrl.address(), qid,
                resubmitted, outstanding.size() - resubmitted);
        return true;
    }

    /** Recovery driven by the reset worker for a shared pair. */
    void recoverShared() {
        if (lock == null) {
            return;
        }
        try (Guard<Queue> g = lock.lock()) {
            if (state == OPEN && generation != ctrl.generation()) {
                recover(false);
            }
        }
        deliver();
    }

    /**
     * Completes every outstanding command with {@code status}. With {@code Integer.MIN_VALUE} the controller may not
     * have stopped its DMA: the commands are completed as failed, but their buffers stay pinned (leaked) so that
     * the device can never write into memory that was reused.
     */
    private void failAll(int status) {
        for (int cid = 0; cid < q.capacity(); cid++) {
            Request r = q.slot(cid);
            if (r.state == Request.FREE) {
                continue;
            }
            if (status == Integer.MIN_VALUE) {
                LOG.error("{}: {} on queue {} failed while the device may still access its buffer; the buffer "
                        + "stays pinned until the controller is disabled", ctrl.address(), describe(r), qid);
                if (r.pinned != null) {
                    leakedPins.add(r.pinned);
                    r.pinned = null;
                }
                finish(r, IoStatus.CONTROLLER_FAILED);
            } else {
                finish(r, status);
            }
        }
    }

    /** Called by the controller (any thread) when it fails or closes: this pair refuses further use. */
    void markFailed() {
        if (state == OPEN) {
            state = FAILED;
        }
    }

    /**
     * Final step of closing, with the device-side queues deleted (or the controller disabled): fail whatever is
     * left, free the memory. Runs on the owner thread or under the lock.
     */
    void releaseAfterDelete(boolean dmaStopped, int status) {
        Runnable body = () -> {
            if (state == CLOSED) {
                return;
            }
            failAll(dmaStopped ? status : Integer.MIN_VALUE);
            state = CLOSED;
            if (vector != null) {
                // Only this pair's handler: the vector may carry other pairs' and the admin queue's. A delivery
                // already running may still call it once; it finds the pair closed and does nothing harmful.
                vector.removeHandler(interruptHandler);
            }
            if (dmaStopped) {
                releaseMemory();
            }
            // Otherwise the controller may still write the rings: they stay pinned until it is disabled, and the
            // controller calls releaseAfterDisable().
        };
        if (lock != null) {
            try (Guard<Queue> g = lock.lock()) {
                body.run();
            }
        } else {
            body.run();
        }
        deliver();
    }

    /** The controller was disabled: memory kept from the device can be given back now. */
    void releaseAfterDisable() {
        if (lock != null) {
            try (Guard<Queue> g = lock.lock()) {
                releaseMemory();
            }
        } else {
            releaseMemory();
        }
    }

    private void releaseMemory() {
        for (DmaBuffer b : leakedPins) {
            b.unpin();
        }
        leakedPins.clear();
        for (DmaBuffer b : registered) {
            b.unregister(this);
        }
        registered.clear();
        q.deviceOwnsRings(false);
        try {
            q.release();
            prpPages.close();
        } catch (IllegalStateException e) {
            LOG.debug("queue pair {}: memory already released: {}", qid, e.getMessage());
        }
    }

    /** Completes what can be completed, swallowing errors (for a controller that is failing or closing). */
    void processCompletionsQuietly() {
        try {
            processCompletions(Integer.MAX_VALUE);
        } catch (RuntimeException e) {
            LOG.debug("queue pair {}: {}", qid, e.getMessage());
        }
    }

    /** Called with access held: reap once (for a final drain by the controller). */
    void drainForDelete() {
        if (lock != null) {
            try (Guard<Queue> g = lock.lock()) {
                reapLocked(Integer.MAX_VALUE);
            }
        } else {
            reapLocked(Integer.MAX_VALUE);
        }
        deliver();
    }

    /** The watchdog's visit to a shared pair: reap, check timeouts, recover. Never blocks on the lock. */
    void watchdog() {
        if (lock == null || state != OPEN) {
            return;
        }
        Guard<Queue> g = lock.tryLock();
        if (g == null) {
            return;
        }
        try {
            if (generation != ctrl.generation()) {
                recover(false);
            } else if (!faulted) {
                reapLocked(Integer.MAX_VALUE);
                long now = System.nanoTime();
                if (q.outstanding() > 0) {
                    lastTimeoutCheck = now;
                    checkTimeouts(now);
                }
            }
        } finally {
            g.close();
        }
        deliver();
    }

    private void reapInBackground() {
        int idle = 0;
        while (state == OPEN) {
            int n = processCompletions(Integer.MAX_VALUE);
            if (q.outstanding() == 0) {
                return;
            }
            if (n > 0) {
                idle = 0;
            } else if (vector != null) {
                return; // the next interrupt enqueues us again
            } else {
                idle = backOff(idle, 20_000);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    static String opName(int opcode) {
        if (opcode == Nvme.NVME_CMD_READ()) {
            return "Read";
        } else if (opcode == Nvme.NVME_CMD_WRITE()) {
            return "Write";
        } else if (opcode == Nvme.NVME_CMD_FLUSH()) {
            return "Flush";
        } else if (opcode == Nvme.NVME_CMD_WRITE_ZEROES()) {
            return "Write Zeroes";
        } else if (opcode == Nvme.NVME_CMD_DSM()) {
            return "Deallocate";
        }
        return String.format("Opcode 0x%02x", opcode);
    }

    static String describe(int opcode, Namespace ns, long lba, int blocks) {
        if (opcode == Nvme.NVME_CMD_FLUSH()) {
            return "Flush of namespace " + ns.id();
        }
        return opName(opcode) + " of " + blocks + " block(s) at LBA " + lba + " on namespace " + ns.id();
    }

    private static String describe(Request r) {
        if (r.opcode == Nvme.NVME_CMD_FLUSH()) {
            return "Flush of namespace " + r.nsid;
        }
        long lba = r.opcode == Nvme.NVME_CMD_DSM() ? -1 : Integer.toUnsignedLong(r.cdw10) | (long) r.cdw11 << 32;
        return opName(r.opcode) + (lba >= 0 ? " of " + ((r.cdw12 & 0xffff) + 1) + " block(s) at LBA " + lba : "")
                + " on namespace " + r.nsid;
    }

    @Override
    public String toString() {
        return "IoQueuePair[" + ctrl.address() + " qid " + qid + ", " + q.entries + " entries, "
                + (owner == null ? "shared" : "owner " + owner.getName()) + ", "
                + (vector == null ? "polling" : "MSI-X " + vectorIndex) + "]";
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Completion of a synchronous call. */
    private static final class SyncWaiter implements IoCallback {
        volatile boolean done;
        volatile int status;

        void reset() {
            done = false;
            status = 0;
        }

        @Override
        public void complete(long tag, int s) {
            status = s;
            done = true;
        }
    }

    /** Completion into a future, with the command's description for the exception. */
    private static final class FutureCompletion implements IoCallback {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        final String command;

        FutureCompletion(String command) {
            this.command = command;
        }

        @Override
        public void complete(long tag, int status) {
            if (status == IoStatus.SUCCESS) {
                future.complete(null);
            } else {
                future.completeExceptionally(IoStatus.toException(status, command));
            }
        }
    }

    /**
     * A transfer split into several commands: completes once, with the first error. Children of a shared pair may
     * be delivered by different threads, hence the atomics.
     */
    private static final class Split {
        final Object context;
        final long tag;
        final java.util.concurrent.atomic.AtomicInteger remaining;
        volatile int status = IoStatus.SUCCESS;

        Split(Object context, long tag, int commands) {
            this.context = context;
            this.tag = tag;
            this.remaining = new java.util.concurrent.atomic.AtomicInteger(commands);
        }

        /** {@return whether this was the last child} */
        boolean childDone(int childStatus) {
            if (childStatus != IoStatus.SUCCESS) {
                synchronized (this) {
                    if (status == IoStatus.SUCCESS) {
                        status = childStatus;
                    }
                }
            }
            // The decrement (a full fence) publishes the status write above to the thread that sees zero.
            return remaining.decrementAndGet() == 0;
        }
    }
}
