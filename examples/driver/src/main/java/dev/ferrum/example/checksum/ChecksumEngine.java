package dev.ferrum.example.checksum;

import static dev.ferrum.example.checksum.ChecksumRegisters.CAPS;
import static dev.ferrum.example.checksum.ChecksumRegisters.CAPS_LENGTH_LOG2;
import static dev.ferrum.example.checksum.ChecksumRegisters.CAPS_RING_LOG2;
import static dev.ferrum.example.checksum.ChecksumRegisters.CTRL;
import static dev.ferrum.example.checksum.ChecksumRegisters.CTRL_EN;
import static dev.ferrum.example.checksum.ChecksumRegisters.CTRL_IRQ_EN;
import static dev.ferrum.example.checksum.ChecksumRegisters.DOORBELL;
import static dev.ferrum.example.checksum.ChecksumRegisters.ID;
import static dev.ferrum.example.checksum.ChecksumRegisters.ID_MAGIC;
import static dev.ferrum.example.checksum.ChecksumRegisters.ID_VERSION;
import static dev.ferrum.example.checksum.ChecksumRegisters.MAGIC;
import static dev.ferrum.example.checksum.ChecksumRegisters.RING_BASE;
import static dev.ferrum.example.checksum.ChecksumRegisters.RING_SIZE;
import static dev.ferrum.example.checksum.ChecksumRegisters.STATUS;
import static dev.ferrum.example.checksum.ChecksumRegisters.STATUS_ERROR;
import static dev.ferrum.example.checksum.ChecksumRegisters.STATUS_FAULT;
import static dev.ferrum.example.checksum.ChecksumRegisters.STATUS_HALTED;
import static dev.ferrum.example.checksum.ChecksumRegisters.STATUS_RDY;

import dev.ferrum.driver.pci.Bar;
import dev.ferrum.driver.pci.DeviceGoneException;
import dev.ferrum.driver.pci.Devres;
import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.SpinLock;
import dev.ferrum.driver.workqueue.DelayedWork;
import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import dev.ferrum.memory.DmaArray;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.RevokedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntPredicate;

/**
 * One bound CSUM-1 checksum accelerator, and the driver's public API: {@link #allocate} DMA memory the device can
 * read, and {@link #crc32c} it. Created by {@link ChecksumDriver}'s {@code probe}, shut down by its {@code remove}.
 *
 * <p>How a job travels: {@link #crc32c} pins the buffer, fills the next descriptor of the ring and rings the
 * doorbell, under the ring's {@link SpinLock}. The device computes the checksum, writes the descriptor's result and
 * status, and raises MSI-X vector 0. The interrupt handler runs on the device's interrupt thread and only queues the
 * bottom half on {@link Workqueue#systemHighPri()}; the bottom half takes the completed descriptors off the ring,
 * unpins their buffers and completes the futures, outside the lock (a future's callbacks run there). Interrupts
 * can be lost, so a watchdog ({@link DelayedWork}) runs every {@link #WATCHDOG_PERIOD} while jobs are in flight and
 * queues the bottom half too: a completed job whose interrupt never came is reaped at most a period or two late.
 *
 * <p>Invariants: a job's buffer is pinned from submission until the device has completed its descriptor or has
 * been seen to stop, so it cannot be freed while the device may read it; every future completes exactly once; at
 * most {@link #ringSize()} jobs are in flight; what the device reports (limits, status codes) is checked before use.
 *
 * <p>Memory ordering: the doorbell is a release write, so a descriptor is complete in memory before the device can
 * see the doorbell; a descriptor's status word is read with acquire ordering before its result.
 *
 * <p>Thread-safe.
 */
public final class ChecksumEngine {
    private static final Logger LOG = LoggerFactory.getLogger(ChecksumEngine.class);
    /** The ring the driver asks for, in descriptors (fewer if the device allows fewer). */
    static final int RING_ENTRIES = 64;
    /** How long a completion may wait for its interrupt before the watchdog reaps it anyway. */
    static final Duration WATCHDOG_PERIOD = Duration.ofMillis(100);

    private final PciDevice device;
    private final PciAddress address;
    private final Mmio regs;
    private final DmaPool pool;
    private final DmaArray ringMemory;
    private final MemorySegment descriptors;
    private final int entries;
    private final int maxLength;
    private final InterruptVector irq;
    private final Duration statusTimeout;
    // @start region="state"
    /** The ring's bookkeeping, shared by every submitting thread and the bottom half. */
    private final SpinLock<Ring> ring;
    /** The bottom half (the kernel's {@code work_struct}): the interrupt handler only queues it. */
    private final Work bottomHalf = new Work("checksum.reap", this::reapCompletions);
    /** Polls for completions whose interrupt never came: armed while jobs are in flight. */
    private final DelayedWork watchdog = new DelayedWork("checksum.watchdog", this::watchdog);
    // Completions on their way out of the lock. Used by one bottom-half execution at a time (a work item never runs
    // concurrently with itself), and by shutdown() once the bottom half is cancelled.
    private final CompletableFuture<Integer>[] doneJobs;
    private final int[] doneStatus;
    private final int[] doneResult;

    /** What submitters and the bottom half share: guarded by {@link #ring}. */
    private static final class Ring {
        final CompletableFuture<Integer>[] jobs;
        final DmaBuffer[] buffers;
        /** Jobs submitted, and jobs taken off the ring, since the device was enabled (both wrap around). */
        int tail;
        int head;
        /** {@link #head} when the watchdog was armed or last ran: unchanged a period later with a job done means
         *  that the job's interrupt was lost (or is late). */
        int headAtLastWatch;
        /** Why no more jobs are accepted, once the engine has stopped. */
        String stopped;

        Ring(int entries) {
            jobs = newJobArray(entries);
            buffers = new DmaBuffer[entries];
        }
    }

    @SuppressWarnings("unchecked")
    private static CompletableFuture<Integer>[] newJobArray(int n) {
        return (CompletableFuture<Integer>[]) new CompletableFuture<?>[n];
    }

    private ChecksumEngine(PciDevice device, Mmio regs, DmaArray ringMemory, InterruptVector irq, int maxLength,
                           Duration statusTimeout) {
        this.device = device;
        this.address = device.address();
        this.regs = regs;
        this.pool = ringMemory.buffer().pool();
        this.ringMemory = ringMemory;
        this.descriptors = ringMemory.buffer().segment();
        this.entries = (int) ringMemory.length();
        this.maxLength = maxLength;
        this.irq = irq;
        this.statusTimeout = statusTimeout;
        this.ring = new SpinLock<>(new Ring(entries), LockClass.named("checksum.ring"));
        this.doneJobs = newJobArray(entries);
        this.doneStatus = new int[entries];
        this.doneResult = new int[entries];
    }
    // @end

    // @start region="probe"
    static ChecksumEngine probe(PciDevice device, Duration statusTimeout) {
        device.enableMemory();                  // decode accesses to the BARs
        device.setBusMaster(true);              // let the device do DMA
        Devres<Bar> bar0 = device.bar(0);       // unmapped when the driver is unbound or the device removed
        Mmio regs = bar0.get().mmio();

        int id = ID.read(regs);
        if (ID_MAGIC.get(id) != MAGIC) {
            throw new IllegalStateException(device.address() + " is not a CSUM-1: its ID register reads 0x"
                    + Integer.toHexString(id) + ", MAGIC should be 0x" + Integer.toHexString(MAGIC));
        }
        int caps = CAPS.read(regs);             // devices are untrusted: check what they claim before using it
        int ringLog2 = CAPS_RING_LOG2.get(caps);
        int lengthLog2 = CAPS_LENGTH_LOG2.get(caps);
        if (ringLog2 < 1 || lengthLog2 < 9 || lengthLog2 > 30) {
            throw new IllegalStateException(device.address() + ": implausible CAPS 0x" + Integer.toHexString(caps)
                    + " (RING_LOG2 " + ringLog2 + ", LENGTH_LOG2 " + lengthLog2 + ")");
        }
        int entries = Math.min(RING_ENTRIES, 1 << ringLog2);
        DmaArray ring = DmaArray.allocate(device.dmaPool(), Descriptor.LAYOUT, entries);
        InterruptVector irq = device.enableMsix(1).getFirst();

        ChecksumEngine engine = new ChecksumEngine(device, regs, ring, irq, 1 << lengthLog2, statusTimeout);
        engine.enable();
        LOG.info("{}: CSUM-1 version {}, {} descriptors, jobs up to {} bytes", device.address(),
                ID_VERSION.get(id), entries, 1 << lengthLog2);
        return engine;
    }
    // @end

    // @start region="enable"
    private void enable() {
        // The hard-IRQ half: runs on the interrupt thread, so it only queues the bottom half.
        irq.setHandler(() -> Workqueue.systemHighPri().enqueue(bottomHalf));
        RING_BASE.write(regs, ringMemory.deviceAddressOf(0));
        RING_SIZE.write(regs, entries);
        CTRL.write(regs, CTRL_IRQ_EN.with(CTRL_EN.with(0, 1), 1));
        int status = awaitStatus(s -> STATUS_RDY.isSet(s) || STATUS_HALTED.isSet(s));
        if (!STATUS_RDY.isSet(status)) {
            throw new IllegalStateException(address + " did not start within " + statusTimeout + ": "
                    + describe(status));
        }
    }
    // @end

    /** Polls STATUS until {@code until} holds or the timeout passes; {@return the last value read} */
    private int awaitStatus(IntPredicate until) {
        long deadline = System.nanoTime() + statusTimeout.toNanos();
        int status = STATUS.read(regs);
        while (!until.test(status) && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(20_000);
            status = STATUS.read(regs);
        }
        return status;
    }

    private static String describe(int status) {
        return String.format("STATUS 0x%x (RDY %d, HALTED %d, FAULT %d%s)", status, STATUS_RDY.get(status),
                STATUS_HALTED.get(status), STATUS_FAULT.get(status), STATUS_HALTED.isSet(status)
                        ? ", ERROR " + ChecksumRegisters.errorName(STATUS_ERROR.get(status)) : "");
    }

    /**
     * Allocates memory the device can read: a buffer of this device's DMA pool, {@code bytes} rounded up to whole
     * pages. Checksum part of it with {@link DmaBuffer#slice}. The buffer is the caller's to close, and is closed
     * at the latest when the driver is unbound.
     *
     * @throws IllegalArgumentException if {@code bytes} is not positive
     * @throws DeviceGoneException      if the device was removed
     */
    public DmaBuffer allocate(long bytes) {
        return device.dmaPool().allocate(bytes);
    }

    // @start region="submit"
    /**
     * Computes the CRC-32C of {@code data} on the device.
     *
     * @param data a buffer (or slice) from {@link #allocate}; it stays pinned until the job completes, so closing it
     *             meanwhile throws instead of freeing memory the device reads
     * @return the checksum, or a {@link ChecksumException} if the device failed the job
     * @throws IllegalArgumentException if {@code data} is not from this device's pool, or longer than the device
     *                                  allows
     * @throws IllegalStateException    if {@code data} is closed, the ring is full, or the engine has stopped
     */
    public CompletableFuture<Integer> crc32c(DmaBuffer data) {
        Objects.requireNonNull(data, "data");
        if (data.pool() != pool) {
            throw new IllegalArgumentException(data + " is not from the DMA pool of " + address + ": the device "
                    + "reaches only memory mapped for it; allocate the buffer with ChecksumEngine.allocate");
        }
        if (data.byteSize() > maxLength) {
            throw new IllegalArgumentException("a job of " + data.byteSize() + " bytes exceeds the limit of "
                    + address + ", " + maxLength + " bytes");
        }
        CompletableFuture<Integer> job = new CompletableFuture<>();
        try (Guard<Ring> guard = ring.lock()) {
            Ring r = guard.get();
            if (r.stopped != null) {
                throw new IllegalStateException(r.stopped + ": it accepts no more jobs");
            }
            if (r.tail - r.head == entries) {
                throw new IllegalStateException(address + ": the ring is full (" + entries + " jobs in flight); "
                        + "wait for a job to complete");
            }
            data.pin();                         // the device may read it until the job completes
            int slot = r.tail & (entries - 1);
            Descriptor.write(descriptors, ringMemory.offsetOf(slot), data.deviceAddress(), (int) data.byteSize(),
                    Descriptor.OP_CRC32C);
            r.jobs[slot] = job;
            r.buffers[slot] = data;
            r.tail++;
            DOORBELL.write(regs, r.tail);       // a release write: the descriptor is in memory first
            // Armed only when the ring stops being empty: while jobs are in flight the watchdog re-arms itself
            // (under this lock), so a later submission has nothing to do. When this is the first job, the
            // watchdog is idle, or has already decided under this lock that there was nothing to watch (it is no
            // longer pending then, so this arms it again), or is still pending from earlier jobs (this enqueue
            // returns false, and that execution finds the new job). Under the lock, so that shutdown (which sets
            // r.stopped under it) knows no one arms it after that.
            if (r.tail - r.head == 1 && Workqueue.system().enqueue(watchdog, WATCHDOG_PERIOD)) {
                r.headAtLastWatch = r.head;
            }
        }
        return job;
    }
    // @end

    // @start region="bottom-half"
    /** The bottom half: runs on a workqueue thread, never concurrently with itself. */
    private void reapCompletions() {
        int n;
        try (Guard<Ring> guard = ring.lock()) {
            n = takeCompleted(guard.get());
        }
        finish(n);                              // outside the lock: completing a future runs its callbacks
        int status;
        try {
            status = STATUS.read(regs);
        } catch (RevokedException gone) {
            return;                             // surprise removal: remove() fails what is left
        }
        if (STATUS_HALTED.isSet(status)) {
            String why = address + " halted: " + describe(status);
            LOG.error("{}; failing every job in flight", why);
            failOutstanding(why, true, false);
        }
    }

    /** Moves the completed descriptors' jobs to the done arrays and unpins their buffers. {@return how many} */
    private int takeCompleted(Ring r) {
        int n = 0;
        while (r.head != r.tail) {
            int slot = r.head & (entries - 1);
            long offset = ringMemory.offsetOf(slot);
            int status = Descriptor.status(descriptors, offset);
            if ((status & Descriptor.DONE) == 0) {
                break;
            }
            doneJobs[n] = r.jobs[slot];
            doneStatus[n] = status & ~Descriptor.DONE;
            doneResult[n] = Descriptor.result(descriptors, offset);
            n++;
            r.buffers[slot].unpin();            // the device is done with the data
            r.jobs[slot] = null;
            r.buffers[slot] = null;
            r.head++;
        }
        return n;
    }

    private void finish(int n) {
        for (int i = 0; i < n; i++) {
            CompletableFuture<Integer> job = doneJobs[i];
            doneJobs[i] = null;
            int code = doneStatus[i];
            if (code == 0) {
                job.complete(doneResult[i]);
            } else {
                job.completeExceptionally(new ChecksumException(address + " failed the job: "
                        + Descriptor.codeName(code), code));
            }
        }
    }
    // @end

    // @start region="watchdog"
    /**
     * The watchdog: runs every {@link #WATCHDOG_PERIOD} while jobs are in flight. Interrupts get lost (a platform
     * that drops an MSI, a device bug, a vector masked at the wrong moment); without it, a job the device completed
     * but never signalled would wait forever. It queues the bottom half, which reaps what is done, signalled or not.
     */
    private void watchdog() {
        boolean lost;
        try (Guard<Ring> guard = ring.lock()) {
            Ring r = guard.get();
            if (r.stopped != null || r.head == r.tail) {
                return;                         // nothing to watch: the next submission arms it again
            }
            // A whole period without a reap while the oldest job is done: its interrupt did not come (yet).
            lost = r.head == r.headAtLastWatch
                    && (Descriptor.status(descriptors, ringMemory.offsetOf(r.head & (entries - 1)))
                    & Descriptor.DONE) != 0;
            r.headAtLastWatch = r.head;
            Workqueue.systemHighPri().enqueue(bottomHalf);
            // Under the lock, as in crc32c: after shutdown has set r.stopped, nothing arms it again.
            Workqueue.system().enqueue(watchdog, WATCHDOG_PERIOD);
        }
        if (lost) {
            LOG.warn("{}: a completed job waited {} without an interrupt (lost, or late); reaping by polling",
                    address, WATCHDOG_PERIOD);
        }
    }
    // @end

    // @start region="shutdown"
    /** Stops the device and completes or fails every job. Called by remove, also after a surprise removal. */
    void shutdown() {
        boolean gone = !device.isPresent();
        String why = gone ? address + " was removed" : address + ": the driver was unbound";
        ring.run(r -> r.stopped = why);         // no new jobs from here on
        boolean stopped = stopDevice();
        device.disableMsix();                   // joins the interrupt thread: no handler runs after this
        watchdog.cancelSync();                  // disarmed, not running, and nothing arms it again (stopped)
        bottomHalf.cancelSync();                // the bottom half is neither queued nor running now
        failOutstanding(why, stopped, gone);
    }

    /** {@return whether the device has stopped, so that it no longer reads the jobs' buffers} */
    private boolean stopDevice() {
        try {
            CTRL.write(regs, 0);
            int status = awaitStatus(s -> !STATUS_RDY.isSet(s));
            if (STATUS_RDY.isSet(status)) {
                LOG.error("{} did not stop within {}: the buffers of its jobs stay pinned, and are never freed",
                        address, statusTimeout);
                return false;
            }
            return true;
        } catch (RevokedException removed) {
            return true;                        // the device is gone: it does no more DMA
        }
    }
    // @end

    /**
     * Completes what the device finished and fails the rest with {@code why}. Their buffers are unpinned only if
     * the device stopped; otherwise they stay pinned, so that the pool never frees memory the device may still read.
     */
    private void failOutstanding(String why, boolean deviceStopped, boolean gone) {
        int completed;
        int failed = 0;
        try (Guard<Ring> guard = ring.lock()) {
            Ring r = guard.get();
            if (r.stopped == null) {
                r.stopped = why;
            }
            completed = takeCompleted(r);
            for (; r.head != r.tail; r.head++) {
                int slot = r.head & (entries - 1);
                if (deviceStopped) {
                    r.buffers[slot].unpin();
                }
                doneJobs[completed + failed] = r.jobs[slot];
                failed++;
                r.jobs[slot] = null;
                r.buffers[slot] = null;
            }
        }
        finish(completed);
        for (int i = completed; i < completed + failed; i++) {
            CompletableFuture<Integer> job = doneJobs[i];
            doneJobs[i] = null;
            job.completeExceptionally(gone ? new DeviceGoneException(why + " before completing the job")
                    : new ChecksumException(why + " before completing the job"
                            + (deviceStopped ? "" : "; the device did not stop, so its buffer stays pinned"), -1));
        }
    }

    /** {@return the device's PCI address} */
    public PciAddress address() {
        return address;
    }

    /** {@return how many jobs the ring holds} */
    public int ringSize() {
        return entries;
    }

    /** {@return the largest job the device accepts, in bytes} */
    public int maxLength() {
        return maxLength;
    }

    /** {@return the jobs submitted and not yet completed} */
    public int inFlight() {
        return ring.with(r -> r.tail - r.head);
    }

    @Override
    public String toString() {
        return "ChecksumEngine[" + address + "]";
    }
}
