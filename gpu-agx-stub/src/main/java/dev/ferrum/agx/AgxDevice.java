package dev.ferrum.agx;

import dev.ferrum.agx.internal.CommandHeap;
import dev.ferrum.agx.internal.ProtocolViolation;
import dev.ferrum.agx.internal.RxChannel;
import dev.ferrum.agx.internal.TxChannel;
import dev.ferrum.agx.internal.Uat;
import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.DeviceControlMsg;
import dev.ferrum.agx.internal.fw.EventMsg;
import dev.ferrum.agx.internal.fw.InitDataLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.agx.internal.fw.PipeMsg;
import dev.ferrum.agx.internal.fw.Pte;
import dev.ferrum.agx.internal.fw.Regs;
import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.sync.Arc;
import dev.ferrum.driver.workqueue.DelayedWork;
import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.RevokedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * An Apple AGX GPU driven through its (here simulated) firmware: the role of Asahi's {@code gpu.rs}
 * {@code GpuManager} together with the probe in {@code driver.rs}. Created by {@link AgxDriver} when it probes a
 * PCI function, or with {@link #open}.
 *
 * {@snippet class=dev.ferrum.agx.JavadocExamplesTest region=saxpy}
 *
 * <p>Bring-up: enable memory decoding and bus mastering; check the ID register; allocate the channels (device
 * control and pipe to the firmware, events from it), the 128 event stamps, the UAT root table and the command heap;
 * write the init data; enable MSI-X (vector 0: events, vector 1: firmware status); write the init data's address
 * and {@code CONTROL.RUN}; wait for {@code STATUS.READY}.
 *
 * <p>Completion: the event interrupt queues the event work on the device's ordered, high-priority
 * {@link Workqueue}; it drains the event channel, and each fired stamp slot completes its queue's finished jobs.
 * A watchdog ({@link DelayedWork}) on the same queue polls the firmware status, the event channel and the stamps of
 * the slots in use (so a lost interrupt or a lost event only delays completions) and declares the firmware unresponsive when a job outlives its timeout by the
 * grace period without the firmware reporting anything.
 *
 * <p>Failure: a firmware crash (status interrupt or watchdog), an unresponsive firmware, or a protocol violation in
 * what the firmware wrote makes the device {@link State#CRASHED}: the firmware is halted and the function reset
 * (so nothing can DMA any more), every pending job fails with {@link FirmwareCrashedException}, and every later
 * submission is refused with it.
 *
 * <p>Invariants: the firmware is stopped before any memory it may access is freed; every job submitted is
 * finished exactly once (its fence signalled); values the firmware writes (ring pointers, slot numbers, stamps,
 * result codes) are validated before use.
 *
 * <p>Thread-safe, except that {@link #close()} must not run concurrently with other calls, nor from a
 * {@link Fence#whenSignalled} callback.
 */
public final class AgxDevice implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AgxDevice.class);

    /** Life cycle of a device. */
    public enum State { LIVE, CRASHED, CLOSED }

    /**
     * Counters since the device was opened.
     *
     * @param submitted        jobs run
     * @param completed        jobs that completed successfully
     * @param failed           jobs that finished with an error
     * @param faults           GPU fault events the firmware reported
     * @param timeouts         timeout events the firmware reported
     * @param protocolErrors   firmware messages the driver rejected
     * @param tlbInvalidations TLB invalidations sent
     */
    public record Stats(long submitted, long completed, long failed, long faults, long timeouts, long protocolErrors,
                        long tlbInvalidations) {}

    /** The lowest GPU virtual address handed out: 4 GiB (small addresses always fault). */
    static final long VA_BASE = 1L << 32;
    /** The largest buffer {@link #allocate} makes: 1 GiB. */
    static final long MAX_BUFFER = 1L << 30;
    private static final int DEVCTL_SLOTS = 64;
    private static final int PIPE_SLOTS = 256;
    private static final int EVENT_SLOTS = 256;
    private static final int HEAP_CHUNK = 512;

    private final PciDevice device;
    private final PciAddress address;
    private final AgxOptions options;
    private final Mmio regs;
    private final DmaPool pool;
    private final Workqueue workqueue;
    private final Work eventWork;
    private final Work statusWork;
    private final DelayedWork watchdog;
    private final Work failWork;
    private volatile String pendingFailure;
    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private final Set<GpuWorkQueue> queues = ConcurrentHashMap.newKeySet();
    private final Set<GpuBuffer> buffers = ConcurrentHashMap.newKeySet();
    private final Set<Job> prepared = ConcurrentHashMap.newKeySet();
    /** Buffers unmapped whose TLB invalidation the firmware did not acknowledge: freed once it is stopped. */
    private final Map<GpuBuffer, Uat.Unmapped> unacknowledged = new ConcurrentHashMap<>();
    private final AtomicLong jobIds = new AtomicLong();
    private final AtomicInteger queueIds = new AtomicInteger();
    private final LongAdder submitted = new LongAdder();
    private final LongAdder completed = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder faults = new LongAdder();
    private final LongAdder timeouts = new LongAdder();
    private final LongAdder protocolErrors = new LongAdder();
    private final LongAdder tlbInvalidations = new LongAdder();
    private final RxChannel.Handler eventHandler = this::onEvent;
    private final Object stateLock = new Object();
    private volatile State state = State.LIVE;
    private volatile boolean closing;
    private volatile String failure;
    private volatile FirmwareCrashedException crash;
    private volatile Runnable unbindOnClose;

    private TxChannel devctl;
    private TxChannel pipe;
    private RxChannel eventChannel;
    private EventManager events;
    private Uat uat;
    private CommandHeap heap;
    private DmaBuffer initData;
    private List<InterruptVector> vectors = List.of();
    private ComputeQueue defaultQueue;

    /**
     * Binds the AGX driver to the function at {@code address} on {@code bus} and returns its device. Closing the
     * device unbinds the driver.
     *
     * @throws IllegalArgumentException if there is no such function, or it is not an AGX GPU
     * @throws dev.ferrum.driver.pci.PciProbeException if bring-up failed (the cause says why)
     */
    public static AgxDevice open(PciBus bus, PciAddress address, AgxOptions options) {
        AgxDriver driver = new AgxDriver(options);
        PciDevice device = bus.bind(driver, address);
        AgxDevice gpu = driver.device(address).orElseThrow();
        gpu.unbindOnClose = () -> bus.unbind(device);
        return gpu;
    }

    /** Brings the GPU up; called by {@link AgxDriver#probe}. */
    AgxDevice(PciDevice device, AgxOptions options) {
        this.device = device;
        this.address = device.address();
        this.options = Objects.requireNonNull(options, "options");
        device.enableMemory();
        device.setBusMaster(true);
        this.regs = device.bar(0).get().mmio();
        int id = Regs.ID.read(regs);
        if (id != Regs.ID_VALUE) {
            throw new GpuException(address + ": ID register reads 0x" + Integer.toHexString(id) + ", not the AGX "
                    + "firmware's 0x" + Integer.toHexString(Regs.ID_VALUE));
        }
        this.pool = device.dmaPool();
        this.workqueue = Workqueue.builder("agx-" + address).ordered().highPriority().build();
        this.eventWork = new Work("agx events " + address, this::processEvents);
        this.statusWork = new Work("agx status " + address, this::checkStatus);
        this.watchdog = new DelayedWork("agx watchdog " + address, this::watchdogTick);
        this.failWork = new Work("agx failure " + address,
                () -> firmwareFailed(FirmwareCrashedException.DETECTED_BY_DRIVER, pendingFailure));
        try {
            bringUp();
        } catch (RuntimeException e) {
            LOG.error("{}: bring-up failed: {}", address, e.getMessage());
            closing = true;
            state = State.CLOSED;
            haltFirmware();
            for (InterruptVector v : vectors) {
                v.setHandler(null);
            }
            workqueue.destroy();
            releaseResources();
            throw e;
        }
    }

    private void bringUp() {
        Duration cmd = options.commandTimeout();
        devctl = keep(new TxChannel("device control", pool, DEVCTL_SLOTS, regs, Regs.CH_DEVICE_CONTROL, cmd));
        pipe = keep(new TxChannel("pipe", pool, PIPE_SLOTS, regs, Regs.CH_PIPE, cmd));
        eventChannel = keep(new RxChannel("event", pool, EVENT_SLOTS));
        events = keep(new EventManager(pool, InitDataLayout.STAMPS, options.eventSlots()));
        uat = keep(new Uat(pool, VA_BASE, Pte.VA_LIMIT));
        heap = keep(new CommandHeap(pool, HEAP_CHUNK));
        initData = keep(pool.allocate(InitDataLayout.LAYOUT.byteSize()));
        MemorySegment d = initData.segment();
        d.fill((byte) 0);
        Le.INT.set(d, InitDataLayout.MAGIC_OFF, InitDataLayout.MAGIC);
        Le.INT.set(d, InitDataLayout.VERSION_OFF, InitDataLayout.VERSION);
        Le.LONG.set(d, InitDataLayout.UAT_TTBR, uat.ttbr());
        devctl.describe(d, InitDataLayout.DEVCTL_RING);
        pipe.describe(d, InitDataLayout.PIPE_RING);
        eventChannel.describe(d, InitDataLayout.EVENT_RING);
        Le.LONG.set(d, InitDataLayout.STAMPS_OFF, events.stampsAddress());
        Le.INT.set(d, InitDataLayout.STAMP_COUNT, InitDataLayout.STAMPS);
        Le.INT.set(d, InitDataLayout.EVENT_VECTOR, Regs.VECTOR_EVENT);
        Le.INT.set(d, InitDataLayout.STATUS_VECTOR, Regs.VECTOR_STATUS);

        vectors = device.enableMsix(Regs.MSIX_VECTORS);
        vectors.get(Regs.VECTOR_EVENT).setHandler(() -> workqueue.enqueue(eventWork));
        vectors.get(Regs.VECTOR_STATUS).setHandler(() -> workqueue.enqueue(statusWork));

        // Release (the register write): the init data and everything it points to are visible before RUN.
        Regs.INITDATA.write(regs, initData.deviceAddress());
        Regs.CONTROL.write(regs, Regs.CONTROL_RUN.with(0, 1));
        awaitReady();
        int version = Regs.VERSION.read(regs);
        LOG.info("{}: AGX firmware {}.{} running; {} event slots, {}-entry queues", address, version >>> 16,
                version & 0xffff, options.eventSlots(), options.queueSize());
        defaultQueue = createQueue();
        workqueue.enqueue(watchdog, options.watchdogPeriod());
    }

    private <T extends AutoCloseable> T keep(T resource) {
        resources.push(resource);
        return resource;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + options.bootTimeout().toNanos();
        int spins = 0;
        while (true) {
            int st = Regs.STATUS.read(regs);
            if (Regs.STATUS_INIT_ERROR.isSet(st) || Regs.STATUS_CRASHED.isSet(st)) {
                int code = Regs.CRASH_CODE.read(regs);
                throw new GpuException(address + ": the firmware did not start: " + Regs.crashReason(code)
                        + " (STATUS 0x" + Integer.toHexString(st) + ")");
            }
            if (Regs.STATUS_READY.isSet(st)) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new GpuException(address + ": the firmware did not report READY within "
                        + options.bootTimeout() + " (STATUS 0x" + Integer.toHexString(st) + ")");
            }
            if (++spins < 100) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(100_000);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Public API
    // ---------------------------------------------------------------------------------------------------------

    /** {@return the PCI address of the GPU} */
    public PciAddress address() {
        return address;
    }

    /** {@return the options the device was opened with} */
    public AgxOptions options() {
        return options;
    }

    /** {@return the device's state} */
    public State state() {
        return state;
    }

    /** {@return why the device crashed, if it did} */
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    /** {@return the counters} */
    public Stats stats() {
        return new Stats(submitted.sum(), completed.sum(), failed.sum(), faults.sum(), timeouts.sum(),
                protocolErrors.sum(), tlbInvalidations.sum());
    }

    /**
     * {@return the number of DMA buffers the device's pool holds now} The infrastructure (channels, stamps, page
     * tables, command heap) plus every open {@link GpuBuffer}: for leak checks.
     */
    public int liveDmaBuffers() {
        return pool.liveBuffers();
    }

    /** Allocates a read-write buffer of at least {@code bytes}. See {@link #allocate(long, GpuBuffer.Access)}. */
    public GpuBuffer allocate(long bytes) {
        return allocate(bytes, GpuBuffer.Access.READ_WRITE);
    }

    /**
     * Allocates a buffer of at least {@code bytes} (rounded up to 4 KiB pages), zero-filled, mapped into the GPU's
     * address space with {@code access}.
     *
     * @throws IllegalArgumentException if {@code bytes} is not 1..1 GiB
     * @throws IllegalStateException    if the device is closed
     * @throws FirmwareCrashedException if the firmware crashed
     */
    public GpuBuffer allocate(long bytes, GpuBuffer.Access access) {
        Objects.requireNonNull(access, "access");
        if (bytes <= 0 || bytes > MAX_BUFFER) {
            throw new IllegalArgumentException("GPU buffer size " + bytes + " is not 1.." + MAX_BUFFER);
        }
        checkLive();
        DmaBuffer memory = pool.allocate(bytes);
        try {
            memory.segment().fill((byte) 0);
            Uat.Mapping m = uat.map(memory, access == GpuBuffer.Access.READ_ONLY);
            GpuBuffer b = new GpuBuffer(this, memory, m, access);
            buffers.add(b);
            return b;
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
    }

    /**
     * Creates a compute queue of its own (as each DRM file's queue in Asahi): jobs of one queue run in order; jobs of
     * different queues run concurrently (the firmware interleaves them).
     */
    public ComputeQueue createQueue() {
        checkLive();
        Arc<GpuWorkQueue> q = GpuWorkQueue.create(this, pool, queueIds.incrementAndGet(), options.queueSize());
        return new ComputeQueue(this, q);
    }

    /** Submits {@code job} on the device's default queue. See {@link ComputeQueue#submit}. */
    public Fence submit(ComputeJob job) {
        return defaultQueue.submit(job);
    }

    /** Prepares {@code job} on the device's default queue. See {@link ComputeQueue#prepare}. */
    public PreparedJob prepare(ComputeJob job) {
        return defaultQueue.prepare(job);
    }

    /** {@return the default queue used by {@link #submit} and {@link #prepare}} */
    public ComputeQueue defaultQueue() {
        return defaultQueue;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Jobs
    // ---------------------------------------------------------------------------------------------------------

    /** Creates and commits a job on {@code queue} (an open handle). */
    PreparedJob prepare(Arc<GpuWorkQueue> queue, ComputeJob job) {
        Objects.requireNonNull(job, "job");
        checkLive();
        GpuBuffer[] used = job.buffers();
        for (GpuBuffer b : used) {
            b.checkDevice(this);
        }
        long id = jobIds.incrementAndGet();
        int pinned = 0;
        CommandHeap.Cmd cmd = null;
        Job j = null;
        try {
            for (GpuBuffer b : used) {
                b.acquire(id);
                pinned++;
            }
            cmd = heap.allocate();
            Duration timeout = job.timeout() != null ? job.timeout() : options.jobTimeout();
            MemorySegment c = cmd.view();
            Le.INT.set(c, CommandLayout.OP, job.op());
            Le.LONG.set(c, CommandLayout.JOB_ID, id);
            Le.INT.set(c, CommandLayout.TIMEOUT_MS, (int) timeout.toMillis());
            Le.LONG.set(c, CommandLayout.SRC_VA, job.sourceAddress());
            Le.LONG.set(c, CommandLayout.DST_VA, job.destinationAddress());
            Le.LONG.set(c, CommandLayout.LENGTH, job.length());
            Le.INT.set(c, CommandLayout.SCALAR, job.scalar());
            j = GpuWorkQueue.newJob(queue, id, cmd, used, timeout);
            prepared.add(j);
            j.commit();
            return new PreparedJob(this, j);
        } catch (RuntimeException e) {
            if (j != null) {
                prepared.remove(j);
                j.close(); // rolls back and releases the command and the pins
            } else {
                if (cmd != null) {
                    heap.free(cmd);
                }
                for (int i = 0; i < pinned; i++) {
                    used[i].release();
                }
            }
            throw e;
        }
    }

    /** Runs a committed job: submit, then run (Asahi {@code JobSubmission::run}). */
    Fence run(Job job) {
        prepared.remove(job);
        try (GpuWorkQueue.Submission s = job.submit()) {
            s.run();
        } catch (RuntimeException e) {
            job.close();
            throw e;
        }
        submitted.increment();
        return job.fence;
    }

    /** A prepared job dropped before it ran. */
    void drop(Job job) {
        if (prepared.remove(job)) {
            job.close();
        }
    }

    /** Sends the pipe message telling the firmware to run a queue up to {@code wptr}. */
    void runQueue(long queueInfo, int wptr, int slot, int queueId, boolean isNew) {
        try (TxChannel.Message m = pipe.begin()) {
            MemorySegment r = m.ring();
            long o = m.offset();
            Le.INT.set(r, o + PipeMsg.TYPE, PipeMsg.RUN_QUEUE);
            Le.INT.set(r, o + PipeMsg.EVENT_SLOT, slot);
            Le.LONG.set(r, o + PipeMsg.QUEUE_INFO, queueInfo);
            Le.INT.set(r, o + PipeMsg.WPTR, wptr);
            Le.INT.set(r, o + PipeMsg.QUEUE_ID, queueId);
            Le.INT.set(r, o + PipeMsg.FLAGS, isNew ? PipeMsg.FLAG_NEW : 0);
            m.send();
        } catch (ProtocolViolation e) {
            // The caller holds a queue lock, and failing the device locks every queue: fail it from the workqueue.
            failLater(violation(e));
            throw new GpuException("cannot run queue " + queueId + ": " + e.getMessage(), e);
        } catch (IllegalStateException e) {
            throw new GpuException("cannot run queue " + queueId + ": " + e.getMessage(), e);
        }
    }

    /** Fails the device from the workqueue: for callers that hold a queue lock. */
    private void failLater(String reason) {
        pendingFailure = reason;
        try {
            workqueue.enqueue(failWork);
        } catch (IllegalStateException closed) {
            LOG.warn("{}: {} (the device is closing)", address, reason);
        }
    }

    void jobFinished(GpuException error) {
        if (error == null) {
            completed.increment();
        } else {
            failed.increment();
        }
    }

    void freeCommand(CommandHeap.Cmd cmd) {
        heap.free(cmd);
    }

    EventManager events() {
        return events;
    }

    void queueCreated(GpuWorkQueue q) {
        queues.add(q);
    }

    void queueFreed(GpuWorkQueue q) {
        queues.remove(q);
    }

    private void checkLive() {
        State s = state;
        if (s == State.LIVE && !closing) {
            return;
        }
        if (s == State.CRASHED) {
            FirmwareCrashedException c = crash;
            throw new FirmwareCrashedException(c.crashCode(), c.getMessage()
                    + "; the device refuses new work until it is closed and opened again");
        }
        throw new IllegalStateException(address + ": the AGX device is closed");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Buffers and the TLB
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Unmaps and frees {@code b} (already marked closed). While the firmware runs, its TLB is invalidated and the
     * invalidation acknowledged first; {@code deviceClosing} skips that (the firmware was stopped).
     */
    void releaseBuffer(GpuBuffer b, boolean deviceClosing) {
        Uat.Unmapped u = uat.unmap(b.mapping());
        if (!deviceClosing && state == State.LIVE && !invalidateTlb(b.mapping().va(), b.mapping().size())
                && state == State.LIVE) {
            // The firmware may still hold a translation to the memory: keep it (and the VA range) until close()
            // has stopped the firmware.
            unacknowledged.put(b, u);
            throw new GpuException(address + ": the firmware did not acknowledge the TLB invalidation of " + b
                    + " within " + options.commandTimeout() + "; the buffer is unmapped but its memory is kept until "
                    + "the device closes");
        }
        free(b, u);
    }

    private void free(GpuBuffer b, Uat.Unmapped u) {
        u.release();
        b.memory().close();
        buffers.remove(b);
    }

    /** {@return whether the firmware acknowledged the invalidation of {@code [va, va + size)}} */
    private boolean invalidateTlb(long va, long size) {
        return whileLive(() -> {
            try {
                int cookie;
                try (TxChannel.Message m = devctl.begin()) {
                    MemorySegment r = m.ring();
                    long o = m.offset();
                    Le.INT.set(r, o + DeviceControlMsg.TYPE, DeviceControlMsg.TLB_INVALIDATE);
                    Le.LONG.set(r, o + DeviceControlMsg.VA, va);
                    Le.LONG.set(r, o + DeviceControlMsg.SIZE, size);
                    cookie = m.send();
                }
                tlbInvalidations.increment();
                return devctl.waitFor(cookie, options.commandTimeout());
            } catch (RevokedException e) {
                deviceGone(e);
                return false;
            } catch (IllegalStateException e) {
                LOG.warn("{}: TLB invalidation not sent: {}", address, e.getMessage());
                return false;
            }
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // Events, status, watchdog (all on the ordered workqueue)
    // ---------------------------------------------------------------------------------------------------------

    /** Drains the event channel (Asahi {@code EventChannel::poll}). */
    private void processEvents() {
        whileLive(() -> {
            eventChannel.poll(eventHandler, EVENT_SLOTS);
            return true;
        });
    }

    /**
     * Runs one exchange with the firmware if the device is live; a {@link ProtocolViolation} the exchange finds fails
     * the device.
     *
     * @return what {@code step} returned, or {@code false} if the device was not live or the firmware broke the
     *     protocol
     */
    private boolean whileLive(BooleanSupplier step) {
        if (state != State.LIVE) {
            return false;
        }
        try {
            return step.getAsBoolean();
        } catch (ProtocolViolation e) {
            firmwareFailed(FirmwareCrashedException.DETECTED_BY_DRIVER, violation(e));
            return false;
        }
    }

    private static String violation(ProtocolViolation e) {
        return "firmware protocol violation: " + e.getMessage();
    }

    /** One event message; every field is validated before it is used. */
    private void onEvent(MemorySegment ring, long off) {
        int type = (int) Le.INT.get(ring, off + EventMsg.TYPE);
        switch (type) {
            case EventMsg.FLAG -> {
                for (int w = 0; w < EventMsg.FIRING_WORDS; w++) {
                    int bits = (int) Le.INT.get(ring, off + EventMsg.FIRING + 4L * w);
                    while (bits != 0) {
                        int slot = w * 32 + Integer.numberOfTrailingZeros(bits);
                        bits &= bits - 1;
                        signalSlot(slot);
                    }
                }
            }
            case EventMsg.FAULT, EventMsg.TIMEOUT -> {
                int slot = (int) Le.INT.get(ring, off + EventMsg.SLOT);
                long job = (long) Le.LONG.get(ring, off + EventMsg.JOB_ID);
                if (type == EventMsg.FAULT) {
                    faults.increment();
                    long va = (long) Le.LONG.get(ring, off + EventMsg.ADDRESS);
                    int flags = (int) Le.INT.get(ring, off + EventMsg.FLAGS);
                    LOG.warn("{}: GPU fault on {} of GPU VA 0x{} in job {} (event slot {})", address,
                            (flags & CommandLayout.FAULT_WRITE) != 0 ? "write" : "read", Long.toHexString(va), job,
                            Integer.toUnsignedString(slot));
                } else {
                    timeouts.increment();
                    LOG.warn("{}: the firmware timed out job {} (event slot {})", address, job,
                            Integer.toUnsignedString(slot));
                }
                signalSlot(slot);
            }
            default -> {
                protocolErrors.increment();
                LOG.warn("{}: ignoring event message of unknown type 0x{}", address, Integer.toHexString(type));
            }
        }
    }

    private void signalSlot(int slot) {
        if (slot < 0 || slot >= events.slotCount()) {
            protocolErrors.increment();
            LOG.warn("{}: ignoring event for slot {}: the driver uses slots 0..{}", address,
                    Integer.toUnsignedString(slot), events.slotCount() - 1);
            return;
        }
        events.signal(slot);
    }

    /** Reads STATUS; a crash fails the device. */
    private void checkStatus() {
        if (state != State.LIVE || closing) {
            return;
        }
        try {
            int st = Regs.STATUS.read(regs);
            if (st == -1) {
                firmwareFailed(FirmwareCrashedException.DETECTED_BY_DRIVER, "STATUS reads 0xffffffff: the device "
                        + "is not responding");
            } else if (Regs.STATUS_CRASHED.isSet(st)) {
                int code = Regs.CRASH_CODE.read(regs);
                long addr = Regs.CRASH_ADDR.read(regs);
                firmwareFailed(code, "the GPU firmware crashed: " + Regs.crashReason(code) + " (code " + code
                        + (addr != 0 ? ", address 0x" + Long.toHexString(addr) : "") + ")");
            }
        } catch (RevokedException e) {
            deviceGone(e);
        }
    }

    private void watchdogTick() {
        if (closing || state != State.LIVE) {
            return;
        }
        try {
            checkStatus();
            processEvents();
            pollStamps();
            checkOverdue();
        } catch (RevokedException e) {
            deviceGone(e);
        } catch (RuntimeException e) {
            LOG.error("{}: watchdog failed", address, e);
        }
        if (!closing && state == State.LIVE) {
            workqueue.enqueue(watchdog, options.watchdogPeriod());
        }
    }

    /**
     * Looks at the stamp of the slot each queue owns, as a flag event naming it would: the stamps are the truth and
     * the events only a hint, so an event the firmware lost (or a corrupted event ring) only delays completions. A
     * queue that owns no slot returns at once.
     */
    private void pollStamps() {
        whileLive(() -> {
            for (GpuWorkQueue q : queues) {
                q.signal();
            }
            return true;
        });
    }

    /** The backstop for a silent firmware (the DRM scheduler's job timeout in Asahi). */
    private void checkOverdue() {
        long now = System.nanoTime();
        for (GpuWorkQueue q : queues) {
            Job j = q.overdue(now, options.firmwareGrace());
            if (j != null) {
                firmwareFailed(FirmwareCrashedException.DETECTED_BY_DRIVER, "the GPU firmware stopped responding: job "
                        + j.id + " on queue " + q.id + " outlived its timeout of " + j.timeout.toMillis()
                        + " ms by more than " + options.firmwareGrace().toMillis() + " ms without a completion or a "
                        + "timeout event");
                return;
            }
        }
    }

    private void deviceGone(RevokedException e) {
        firmwareFailed(FirmwareCrashedException.DETECTED_BY_DRIVER, "the device was removed (" + e.getMessage() + ")");
    }

    /**
     * The firmware is dead (Asahi: {@code GpuManager::mark_crashed} / {@code EventManager::fail_all}): refuse new
     * work, stop and reset the device so nothing can DMA, and fail every pending job. Idempotent.
     */
    void firmwareFailed(int code, String reason) {
        synchronized (stateLock) {
            if (state != State.LIVE) {
                return;
            }
            failure = reason;
            crash = new FirmwareCrashedException(code, address + ": " + reason);
            state = State.CRASHED;
        }
        LOG.error("{}: {}; failing all pending jobs", address, reason);
        events.shutdown(crash);
        haltFirmware();
        for (GpuWorkQueue q : queues) {
            q.fail(crash);
        }
    }

    /** Clears RUN and resets the function: afterwards the firmware does no DMA. Tolerates a removed device. */
    private void haltFirmware() {
        if (!device.isPresent()) {
            return;
        }
        try {
            Regs.CONTROL.write(regs, 0);
        } catch (RuntimeException e) {
            LOG.debug("{}: clearing CONTROL.RUN failed: {}", address, e.getMessage());
        }
        try {
            device.reset();
        } catch (RuntimeException e) {
            LOG.warn("{}: function reset failed: {}", address, e.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Shutdown
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Closes the device: refuses new work, lets jobs in flight finish (up to {@link AgxOptions#closeTimeout()}),
     * halts and resets the firmware, fails whatever is still pending, rolls back prepared jobs, closes buffers and
     * queues the user left open, frees all memory, and (if opened with {@link #open}) unbinds the driver.
     * Idempotent.
     */
    @Override
    public void close() {
        State before;
        synchronized (stateLock) {
            if (closing) {
                return;
            }
            closing = true;
            before = state;
        }
        if (before == State.LIVE && device.isPresent()) {
            awaitIdle();
        }
        watchdog.cancelSync();
        haltFirmware();
        GpuException closed = new GpuException(address + ": the device was closed with the job still pending");
        synchronized (stateLock) {
            state = State.CLOSED;
        }
        events.shutdown(closed);
        for (GpuWorkQueue q : queues) {
            q.fail(closed);
        }
        for (Job j : prepared) {
            drop(j);
        }
        for (InterruptVector v : vectors) {
            v.setHandler(null);
        }
        workqueue.destroy();
        defaultQueue.close();
        int forced = 0;
        for (GpuBuffer b : buffers) {
            try {
                forced += b.closeForDevice() ? 1 : 0;
            } catch (RuntimeException e) {
                LOG.error("{}: could not free {}: {}", address, b, e.getMessage());
            }
        }
        if (forced > 0) {
            LOG.info("{}: closed {} GPU buffer(s) the user left open", address, forced);
        }
        for (Map.Entry<GpuBuffer, Uat.Unmapped> e : unacknowledged.entrySet()) {
            free(e.getKey(), e.getValue()); // the firmware is halted: its TLB is gone
        }
        unacknowledged.clear();
        for (GpuWorkQueue q : queues) {
            q.free();
        }
        releaseResources();
        int left = pool.liveBuffers();
        if (left != 0) {
            LOG.error("{}: {} DMA buffer(s) still allocated after close", address, left);
        }
        LOG.info("{}: closed ({})", address, stats());
        Runnable unbind = unbindOnClose;
        if (unbind != null) {
            unbindOnClose = null;
            unbind.run();
        }
    }

    private void awaitIdle() {
        long deadline = System.nanoTime() + options.closeTimeout().toNanos();
        while (state == State.LIVE && System.nanoTime() - deadline < 0) {
            boolean idle = true;
            for (GpuWorkQueue q : queues) {
                idle &= q.pendingCount() == 0;
            }
            if (idle) {
                return;
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    private void releaseResources() {
        while (!resources.isEmpty()) {
            try {
                resources.pop().close();
            } catch (Exception e) {
                LOG.error("{}: releasing a resource failed", address, e);
            }
        }
    }

    @Override
    public String toString() {
        return "AgxDevice[" + address + ", " + state + "]";
    }
}
