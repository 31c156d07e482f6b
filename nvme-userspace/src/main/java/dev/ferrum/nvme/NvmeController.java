package dev.ferrum.nvme;

import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.workqueue.DelayedWork;
import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.RevokedException;
import dev.ferrum.nvme.internal.NvmeRegs;
import dev.ferrum.sys.nvme.Nvme;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One NVMe controller driven from user space: bring-up from the spec, identify, namespaces, admin commands, I/O
 * queue pairs, timeouts, reset and recovery, and clean shutdown. Created by {@link NvmeDriver} when it probes a
 * PCI function, or directly with {@link #attach(PciBus, PciAddress, NvmeOptions)}.
 *
 * {@snippet class=dev.ferrum.example.javadoc.NvmeExamplesTest region=attach}
 *
 * <p>Bring-up (NVMe 1.4, section 7.6.1): read {@code CAP}; disable ({@code CC.EN = 0}, wait {@code CSTS.RDY = 0}
 * within {@code CAP.TO}); program {@code AQA}/{@code ASQ}/{@code ACQ}; enable with 64/16-byte entries and 4 KiB pages;
 * wait {@code CSTS.RDY = 1}; Identify Controller; Set Features Number of Queues (the controller may grant fewer);
 * Identify the active namespaces; arm Asynchronous Event Requests. {@code CSTS.CFS} at any point fails bring-up.
 *
 * <p>Recovery: a fatal status ({@code CSTS.CFS}), an invalid completion entry, an admin command outstanding past
 * {@link NvmeOptions#adminTimeout()}, or an I/O command that stays stuck after an Abort resets the controller on its
 * own ordered workqueue ({@link #lastResetReason()} says why); see {@link IoQueuePair} for what happens to
 * outstanding commands. While a reset runs, the admin queue takes no other commands, and further reset requests
 * are dropped (the problems they report belong to the generation being reset). A reset whose attempt fails (fatal
 * status while enabling, an admin command the device does not complete) starts over from disabling the
 * controller, up to three attempts in all; only then is the controller {@link State#FAILED}.
 *
 * <p>Invariants: at most one reset runs at a time; a queue pair's device-side queues belong to one controller
 * generation; DMA memory a command used is released only after the command completed or the controller was
 * disabled; {@link #close()} shuts the controller down ({@code CC.SHN}) before its memory is freed.
 */
public final class NvmeController implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NvmeController.class);

    /** Life cycle of a controller. */
    public enum State { LIVE, RESETTING, FAILED, CLOSED }

    /**
     * {@code CAP}, decoded.
     *
     * @param maxQueueEntries MQES + 1
     * @param doorbellStride  DSTRD
     * @param timeoutMillis   CAP.TO in milliseconds (at least 500)
     * @param minPageSize     2^(12 + MPSMIN)
     * @param maxPageSize     2^(12 + MPSMAX)
     * @param contiguousQueuesRequired CQR
     * @param raw             the register value
     */
    public record Capabilities(int maxQueueEntries, int doorbellStride, long timeoutMillis, long minPageSize,
                               long maxPageSize, boolean contiguousQueuesRequired, long raw) {}

    private final PciDevice device;
    private final PciAddress address;
    private final NvmeOptions options;
    private final Mmio regs;
    private final Capabilities cap;
    private final DmaPool pool;
    private final Workqueue workqueue;
    private final List<InterruptVector> vectors;
    private final AdminQueue admin;
    private final Map<Integer, IoQueuePair> queuePairs = new LinkedHashMap<>();
    private final BitSet qidsInUse = new BitSet();
    private final Map<Integer, Namespace> namespaces = new LinkedHashMap<>();
    private final List<Consumer<AsyncEvent>> eventListeners = new CopyOnWriteArrayList<>();
    private final Work adminBottomHalf;
    /** The admin queue's handler on vector 0, which I/O queue pairs share when vectors are scarce. */
    private final Runnable adminInterrupt;
    private final DelayedWork watchdog;
    private final Object stateLock = new Object();
    private volatile State state = State.LIVE;
    private volatile long generation = 1;
    private volatile boolean dmaStopped;
    private volatile String failure;
    private volatile long resets;
    private volatile String pendingResetReason;
    private volatile String lastResetReason;
    /** Set once bring-up succeeded: resets are requested only from then on. */
    private volatile boolean broughtUp;
    /** The generation for which a reset is scheduled (so requests about one problem merge). */
    private long resetScheduledFor;
    /** How many times one reset tries to bring the controller back before declaring it failed. */
    static final int RESET_ATTEMPTS = 3;
    /** Abort commands outstanding: at most ACL (Identify Controller) at once; beyond that, reset instead. */
    private final java.util.concurrent.atomic.AtomicInteger abortsInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final Work resetWork;
    private ControllerInfo info;
    private int grantedQueues;
    private volatile IoQueuePair defaultQueuePair;
    /** Closed queue pairs whose memory the device might still reach: released after the controller is disabled. */
    private final List<IoQueuePair> orphans = new ArrayList<>();
    /** For {@link #attach}: closing the controller also unbinds the driver, releasing BARs and DMA memory. */
    private volatile Runnable unbindOnClose;

    /**
     * Attaches the NVMe driver to the function at {@code address} on {@code bus} and returns its controller.
     *
     * @throws IllegalArgumentException if there is no such function, or it is not an NVMe controller
     * @throws dev.ferrum.driver.pci.PciProbeException if bring-up failed (the cause says why)
     */
    public static NvmeController attach(PciBus bus, PciAddress address, NvmeOptions options) {
        NvmeDriver driver = new NvmeDriver(options);
        PciDevice device = bus.bind(driver, address);
        NvmeController ctrl = driver.controller(address).orElseThrow();
        ctrl.unbindOnClose = () -> bus.unbind(device);
        return ctrl;
    }

    /** Brings the controller up; called by {@link NvmeDriver#probe}. */
    NvmeController(PciDevice device, NvmeOptions options) {
        this.device = device;
        this.address = device.address();
        this.options = Objects.requireNonNull(options, "options");
        device.enableMemory();
        device.setBusMaster(true);
        this.regs = device.bar(0).get().mmio();
        long capValue = NvmeRegs.CAP.read(regs);
        this.cap = decodeCap(capValue);
        LOG.info("{}: CAP 0x{} (MQES {}, DSTRD {}, TO {} ms, MPS {}..{}), VS {}", address, Long.toHexString(capValue),
                cap.maxQueueEntries(), cap.doorbellStride(), cap.timeoutMillis(), cap.minPageSize(), cap.maxPageSize(),
                versionString(NvmeRegs.VS.read(regs)));
        this.pool = device.dmaPool();
        this.workqueue = Workqueue.builder("nvme-" + address).ordered().build();
        this.resetWork = new Work("nvme reset " + address, this::resetNow);
        this.adminBottomHalf = new Work("nvme admin completions " + address, this::pollAdmin);
        this.adminInterrupt = this::adminInterrupted;
        this.watchdog = new DelayedWork("nvme watchdog " + address, this::watchdogTick);
        try {
            disable();
            int adminEntries = Math.min(options.adminQueueDepth(), Math.min(cap.maxQueueEntries(), 4096));
            this.admin = new AdminQueue(adminEntries, pool, regs, cap.doorbellStride(), this::deviceFault,
                    this::adminTimedOut, () -> NvmeRegs.CSTS_CFS.isSet(NvmeRegs.CSTS.read(regs)));
            this.vectors = enableInterrupts();
            enable();
            this.info = identifyController();
            LOG.info("{}: {} (serial {}, firmware {}), NVMe {}, MDTS {}, {} namespace(s)", address, info.modelNumber(),
                    info.serialNumber(), info.firmwareRevision(), info.versionString(),
                    info.mdts() == 0 ? "unlimited" : (cap.minPageSize() << info.mdts()) + " bytes",
                    info.namespaceCount());
            this.grantedQueues = setNumberOfQueues(options.ioQueues());
            for (int nsid : activeNamespaces()) {
                try {
                    namespaces.put(nsid, new Namespace(this, identifyNamespace(nsid)));
                } catch (IllegalArgumentException e) {
                    LOG.warn("{}: namespace {} skipped: {}", address, nsid, e.getMessage());
                }
            }
            armAsyncEvents();
            broughtUp = true;
            workqueue.enqueue(watchdog, options.watchdogPeriod());
        } catch (RuntimeException e) {
            abandon("bring-up failed: " + e.getMessage());
            throw e;
        }
    }

    private static Capabilities decodeCap(long v) {
        long to = NvmeRegs.CAP_TO.get(v) * 500;
        return new Capabilities((int) NvmeRegs.CAP_MQES.get(v) + 1, (int) NvmeRegs.CAP_DSTRD.get(v),
                Math.max(500, to), 4096L << NvmeRegs.CAP_MPSMIN.get(v), 4096L << NvmeRegs.CAP_MPSMAX.get(v),
                NvmeRegs.CAP_CQR.get(v) != 0, v);
    }

    private static String versionString(int vs) {
        return (vs >>> 16) + "." + ((vs >>> 8) & 0xff) + "." + (vs & 0xff);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Register-level bring-up
    // ---------------------------------------------------------------------------------------------------------

    /** {@code CC.EN = 0}, then wait for {@code CSTS.RDY = 0}: afterwards the controller does no more DMA. */
    private void disable() {
        int cc = NvmeRegs.CC.read(regs);
        if (NvmeRegs.CC_EN.isSet(cc)) {
            NvmeRegs.CC.write(regs, NvmeRegs.CC_EN.with(cc, 0));
        }
        waitReady(false);
        dmaStopped = true;
        if (admin != null) {
            admin.deviceOwnsRings(false);
        }
    }

    private void enable() {
        if (cap.minPageSize() > 4096) {
            throw new ControllerFailedException(address + ": the controller's minimum memory page size is "
                    + cap.minPageSize() + " bytes; this driver uses 4096");
        }
        if ((NvmeRegs.CAP_CSS.get(cap.raw()) & 1) == 0) {
            throw new ControllerFailedException(address + ": the controller does not support the NVM command set");
        }
        int entries = admin.entries();
        NvmeRegs.AQA.write(regs, NvmeRegs.AQA_ACQS.with(NvmeRegs.AQA_ASQS.with(0, entries - 1), entries - 1));
        NvmeRegs.ASQ.write(regs, admin.sqAddress());
        NvmeRegs.ACQ.write(regs, admin.cqAddress());
        int cc = 0;
        cc = NvmeRegs.CC_CSS.with(cc, 0);
        cc = NvmeRegs.CC_MPS.with(cc, 0);
        cc = NvmeRegs.CC_AMS.with(cc, 0);
        cc = NvmeRegs.CC_IOSQES.with(cc, 6);
        cc = NvmeRegs.CC_IOCQES.with(cc, 4);
        NvmeRegs.CC.write(regs, cc);
        admin.resume(generation); // the rings are rewound: this generation's commands may go in
        admin.deviceOwnsRings(true);
        dmaStopped = false;
        NvmeRegs.CC.write(regs, NvmeRegs.CC_EN.with(cc, 1));
        waitReady(true);
    }

    /**
     * After {@link #disable()} in a reset: waits (within {@code CAP.TO}) for the controller reset to clear
     * {@code CSTS.CFS}. A controller that went fatal before it became ready already reads {@code RDY = 0}, so the
     * ready wait proves nothing about the reset having happened; enabling again before it has would find the old
     * fatal status and fail the attempt. If the status stays, the enable that follows reports it.
     */
    private void awaitFatalStatusCleared() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(cap.timeoutMillis());
        while (NvmeRegs.CSTS_CFS.isSet(NvmeRegs.CSTS.read(regs)) && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(100_000);
        }
    }

    /** Waits for {@code CSTS.RDY} to become {@code ready} within {@code CAP.TO}. */
    private void waitReady(boolean ready) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(cap.timeoutMillis());
        int spins = 0;
        while (true) {
            int csts = NvmeRegs.CSTS.read(regs);
            if (csts == -1) {
                throw new ControllerFailedException(address + ": CSTS reads 0xffffffff: the device is not responding"
                        + " (removed, or its PCI link is down)");
            }
            if (ready && NvmeRegs.CSTS_CFS.isSet(csts)) {
                throw new ControllerFailedException(address + ": controller fatal status (CSTS.CFS) while enabling");
            }
            if (NvmeRegs.CSTS_RDY.isSet(csts) == ready) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new ControllerFailedException(address + ": CSTS.RDY did not become " + (ready ? 1 : 0)
                        + " within CAP.TO = " + cap.timeoutMillis() + " ms (CSTS 0x" + Integer.toHexString(csts) + ")");
            }
            if (++spins < 100) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(100_000);
            }
        }
    }

    private List<InterruptVector> enableInterrupts() {
        int available = device.msixVectorCount();
        if (!options.interrupts() || available == 0) {
            return List.of();
        }
        int count = Math.min(available, 1 + options.ioQueues());
        List<InterruptVector> v = device.enableMsix(count);
        // Added, not set: with fewer vectors than queue pairs, I/O pairs add their own handlers to vector 0 too.
        v.getFirst().addHandler(adminInterrupt);
        admin.useInterrupts(options.interruptFallback());
        LOG.debug("{}: {} MSI-X vector(s) enabled", address, count);
        return v;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Admin commands
    // ---------------------------------------------------------------------------------------------------------

    private int adminCommand(String what, int opcode, int nsid, MemorySegment out, int cdw10, int cdw11, int cdw12) {
        return admin.execute(what, options.adminTimeout(), opcode, nsid, 0, out, cdw10, cdw11, cdw12);
    }

    private ControllerInfo identifyController() {
        MemorySegment data = MemorySegment.ofArray(new byte[4096]);
        adminCommand("Identify Controller", Nvme.NVME_ADMIN_IDENTIFY(), 0, data, Nvme.NVME_ID_CNS_CTRL(), 0, 0);
        return ControllerInfo.parse(data);
    }

    private NamespaceInfo identifyNamespace(int nsid) {
        MemorySegment data = MemorySegment.ofArray(new byte[4096]);
        adminCommand("Identify Namespace " + nsid, Nvme.NVME_ADMIN_IDENTIFY(), nsid, data, Nvme.NVME_ID_CNS_NS(), 0, 0);
        return NamespaceInfo.parse(nsid, data);
    }

    /** Active namespace IDs (CNS 02h), validated: increasing, within NN, at most 1024. */
    private List<Integer> activeNamespaces() {
        MemorySegment data = MemorySegment.ofArray(new byte[4096]);
        adminCommand("Identify Active Namespace List", Nvme.NVME_ADMIN_IDENTIFY(), 0, data,
                Nvme.NVME_ID_CNS_NS_ACTIVE(), 0, 0);
        List<Integer> ids = new ArrayList<>();
        long last = 0;
        for (int i = 0; i < 1024; i++) {
            long nsid = Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT_UNALIGNED, i * 4L));
            if (nsid == 0) {
                break;
            }
            if (nsid <= last || nsid > info.namespaceCount() || nsid >= 0xffffffffL) {
                LOG.warn("{}: active namespace list entry {} ({}) is out of order or beyond NN {}; list truncated",
                        address, i, nsid, info.namespaceCount());
                break;
            }
            ids.add((int) nsid);
            last = nsid;
        }
        return ids;
    }

    /** Set Features, Number of Queues; {@return I/O queue pairs granted (min of SQs and CQs)} */
    private int setNumberOfQueues(int wanted) {
        int n = Math.min(wanted, 65535) - 1;
        int dw0 = adminCommand("Set Features (Number of Queues)", Nvme.NVME_ADMIN_SET_FEATURES(), 0, null,
                Nvme.NVME_FEAT_NUM_QUEUES(), n << 16 | n, 0);
        int sq = (dw0 & 0xffff) + 1;
        int cq = (dw0 >>> 16) + 1;
        int granted = Math.min(Math.min(sq, cq), wanted);
        if (granted < wanted) {
            LOG.info("{}: asked for {} I/O queue pairs, the controller granted {}", address, wanted, granted);
        }
        return granted;
    }

    private void armAsyncEvents() {
        int count = Math.min(options.asyncEventRequests(), info.asyncEventLimit());
        for (int i = 0; i < count; i++) {
            submitAsyncEventRequest();
        }
    }

    private void submitAsyncEventRequest() {
        long g = generation;
        // No timeout: the controller completes it only when an event happens, possibly never.
        admin.submit("Asynchronous Event Request", null, Nvme.NVME_ADMIN_ASYNC_EVENT(), 0, 0, null, null, 0, 0, 0, 0,
                        0, 0)
                .whenComplete((dw0, error) -> {
                    if (error != null) {
                        return; // aborted by a reset (re-armed by it) or the controller closed
                    }
                    AsyncEvent event = AsyncEvent.fromDw0(dw0);
                    LOG.info("{}: asynchronous event {}", address, event);
                    for (Consumer<AsyncEvent> l : eventListeners) {
                        try {
                            l.accept(event);
                        } catch (RuntimeException e) {
                            LOG.error("asynchronous event listener threw", e);
                        }
                    }
                    if (state == State.LIVE && generation == g) {
                        submitAsyncEventRequest();
                    }
                });
    }

    /** Registers a listener for asynchronous events (runs on the thread that reaped the admin completion). */
    public void onAsyncEvent(Consumer<AsyncEvent> listener) {
        eventListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** {@return the SMART / health information log} */
    public SmartLog smartLog() {
        requireLive();
        MemorySegment data = MemorySegment.ofArray(new byte[512]);
        int dwords = 512 / 4;
        adminCommand("Get Log Page (SMART / Health)", Nvme.NVME_ADMIN_GET_LOG_PAGE(), 0xffffffff, data,
                (dwords - 1) << 16 | Nvme.NVME_LOG_SMART(), 0, 0);
        return SmartLog.parse(data);
    }

    /** {@return the error information log entries (up to 64, non-empty ones only)} */
    public List<ErrorLogEntry> errorLog() {
        requireLive();
        int entries = Math.min(info.errorLogEntries(), 64);
        MemorySegment data = MemorySegment.ofArray(new byte[entries * 64]);
        int dwords = entries * 64 / 4;
        adminCommand("Get Log Page (Error Information)", Nvme.NVME_ADMIN_GET_LOG_PAGE(), 0, data,
                (dwords - 1) << 16 | Nvme.NVME_LOG_ERROR(), 0, 0);
        return ErrorLogEntry.parse(data);
    }

    /** {@return DW0 of Get Features for feature {@code fid} (current value)} */
    public int getFeature(int fid) {
        requireLive();
        return adminCommand("Get Features (FID 0x" + Integer.toHexString(fid) + ")", Nvme.NVME_ADMIN_GET_FEATURES(),
                0, null, fid & 0xff, 0, 0);
    }

    /**
     * Set Features for {@code fid} with CDW11 {@code value}.
     *
     * @return DW0 of the completion
     */
    public int setFeature(int fid, int value) {
        requireLive();
        return adminCommand("Set Features (FID 0x" + Integer.toHexString(fid) + ")", Nvme.NVME_ADMIN_SET_FEATURES(),
                0, null, fid & 0xff, value, 0);
    }

    /**
     * Sends Abort for command {@code cid} of queue {@code sqid}, without waiting (timeouts use it). More timed-out
     * commands than the controller's Abort Command Limit (ACL) at once escalate to a reset, as Linux does.
     */
    void abortCommand(int sqid, int cid, long observedGeneration) {
        synchronized (stateLock) {
            if (state != State.LIVE || observedGeneration != generation || resetScheduledFor == generation) {
                // A reset is coming or running: it fails or resubmits the command, and an Abort would name a queue
                // of the old generation (and count against ACL while the reset fails the Aborts in flight).
                return;
            }
        }
        if (abortsInFlight.incrementAndGet() > info.abortLimit()) {
            abortsInFlight.decrementAndGet();
            requestReset("more than " + info.abortLimit() + " commands timed out at once (the controller's Abort "
                    + "Command Limit)", observedGeneration);
            return;
        }
        try {
            admin.submit("Abort (SQ " + sqid + ", CID " + cid + ")", options.adminTimeout(), Nvme.NVME_ADMIN_ABORT(),
                    0, 0, null, null, cid << 16 | sqid, 0, 0, 0, 0, 0).whenComplete((dw0, error) -> {
                        abortsInFlight.decrementAndGet();
                        if (error == null && (dw0 & 1) != 0) {
                            LOG.warn("{}: Abort of CID {} on queue {}: the controller did not abort it", address, cid,
                                    sqid);
                        }
                    });
            workqueue.enqueue(adminBottomHalf);
        } catch (QueueFullException e) {
            abortsInFlight.decrementAndGet();
            requestReset("cannot send Abort for CID " + cid + " on queue " + sqid + ": " + e.getMessage(),
                    observedGeneration);
        }
    }

    /** The admin queue's hard-IRQ half, on the interrupt thread: short, no allocation. */
    private void adminInterrupted() {
        admin.wakeWaiters(); // threads waiting for an admin command poll at once
        workqueue.enqueue(adminBottomHalf); // and asynchronous completions (events, Aborts) are reaped
    }

    private void pollAdmin() {
        if (state != State.CLOSED && state != State.FAILED) {
            try {
                admin.poll();
            } catch (RevokedException e) {
                deviceGone(e);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Queue pairs
    // ---------------------------------------------------------------------------------------------------------

    /** {@return a new queue pair with the default options (owner thread, polling)} */
    public IoQueuePair createQueuePair() {
        return createQueuePair(QueuePairOptions.defaults());
    }

    /**
     * Creates an I/O queue pair (Create I/O Completion Queue, then Create I/O Submission Queue).
     *
     * @throws IllegalStateException if every queue pair the controller granted is in use, or the controller is
     *                               not live
     */
    public IoQueuePair createQueuePair(QueuePairOptions qpOptions) {
        IoQueuePair qp;
        synchronized (stateLock) {
            requireLive();
            int qid = qidsInUse.nextClearBit(1);
            if (qid > grantedQueues) {
                throw new IllegalStateException("all " + grantedQueues + " I/O queue pairs granted by controller "
                        + address + " are in use");
            }
            int entries = Math.min(qpOptions.depth() == 0 ? options.ioQueueDepth() : qpOptions.depth(),
                    cap.maxQueueEntries());
            InterruptVector vector = null;
            int vectorIndex = 0;
            if (qpOptions.completion() == QueuePairOptions.Completion.INTERRUPT) {
                if (vectors.isEmpty()) {
                    throw new IllegalStateException("interrupt completion requested, but MSI-X is "
                            + (options.interrupts() ? "not available on " + address : "disabled in NvmeOptions"));
                }
                vectorIndex = vectors.size() == 1 ? 0 : 1 + (qid - 1) % (vectors.size() - 1);
                vector = vectors.get(vectorIndex);
            }
            qp = new IoQueuePair(this, qid, entries, qpOptions, pool, vector, vectorIndex, Workqueue.systemHighPri());
            try {
                createQueuesOnDevice(qp, generation);
            } catch (RuntimeException e) {
                qp.releaseAfterDelete(true, IoStatus.QUEUE_CLOSED);
                throw e;
            }
            qidsInUse.set(qid);
            queuePairs.put(qid, qp);
            qp.activated(generation);
        }
        LOG.debug("{}: created {}", address, qp);
        return qp;
    }

    /**
     * Creates the pair's CQ and SQ on the device (also after a reset), in controller generation {@code g}: if the
     * controller was reset since, the commands are refused ({@link NvmeException}) rather than sent to a newer
     * generation.
     */
    void createQueuesOnDevice(IoQueuePair qp, long g) {
        var q = qp.queue();
        int sizeQid = (q.entries - 1) << 16 | q.qid;
        int ien = qp.interruptDriven() ? 1 << 1 : 0;
        q.deviceOwnsRings(true);
        // CDW11: interrupt vector [31:16], interrupts enabled [1], physically contiguous [0].
        admin.executeIn(g, "Create I/O Completion Queue " + q.qid, options.adminTimeout(), Nvme.NVME_ADMIN_CREATE_CQ(), 0,
                q.cqAddress(), null, sizeQid, qp.vectorIndex() << 16 | ien | 1, 0);
        // CDW11: completion queue ID [31:16], priority [2:1] (ignored with round robin), physically contiguous [0].
        admin.executeIn(g, "Create I/O Submission Queue " + q.qid, options.adminTimeout(), Nvme.NVME_ADMIN_CREATE_SQ(), 0,
                q.sqAddress(), null, sizeQid, q.qid << 16 | 1, 0);
    }

    /** Deletes the pair's queues on the device and releases it; called by {@link IoQueuePair#close()}. */
    void deleteQueuePair(IoQueuePair qp) {
        boolean deleted = qp.isOpen() && deleteQueuesOnDevice(qp, true);
        boolean safe = deleted || dmaStopped;
        qp.releaseAfterDelete(safe, IoStatus.QUEUE_CLOSED);
        synchronized (stateLock) {
            if (!safe) {
                orphans.add(qp); // its memory is released once the controller is disabled
            }
            queuePairs.remove(qp.id());
            qidsInUse.clear(qp.id());
            if (qp == defaultQueuePair) {
                defaultQueuePair = null;
            }
        }
    }

    /**
     * Delete I/O Submission Queue, then Delete I/O Completion Queue, for {@code qp}'s queues, if they exist on the
     * device (the controller is live and the pair has its queues of the current generation; after a reset that the
     * pair has not yet recovered from, the device has none). With {@code drain}, the caller has the right to reap
     * the pair (it closes the pair, on its owner thread or any thread for a shared pair) and commands the deletion
     * aborted are completed in between; without, only admin commands are sent and the pair's rings are not touched.
     *
     * @return whether the device no longer has the queues
     */
    private boolean deleteQueuesOnDevice(IoQueuePair qp, boolean drain) {
        if (state != State.LIVE) {
            return false;
        }
        if (qp.deviceGeneration() != generation) {
            return true; // the reset that made its generation stale disabled the controller, removing the queues
        }
        try {
            adminCommand("Delete I/O Submission Queue " + qp.id(), Nvme.NVME_ADMIN_DELETE_SQ(), 0, null, qp.id(), 0,
                    0);
            if (drain) {
                qp.drainForDelete(); // commands the deletion aborted completed into the CQ
            }
            adminCommand("Delete I/O Completion Queue " + qp.id(), Nvme.NVME_ADMIN_DELETE_CQ(), 0, null, qp.id(), 0,
                    0);
            return true;
        } catch (NvmeException | RevokedException e) {
            LOG.warn("{}: deleting queue pair {} failed: {}", address, qp.id(), e.getMessage());
            return false;
        }
    }

    /** The shared queue pair behind {@link Namespace}'s own I/O methods, created on first use. */
    IoQueuePair defaultQueuePair() {
        IoQueuePair qp = defaultQueuePair;
        if (qp != null && qp.isOpen()) {
            return qp; // the common case: no lock per I/O
        }
        synchronized (stateLock) {
            if (defaultQueuePair == null || !defaultQueuePair.isOpen()) {
                defaultQueuePair = createQueuePair(QueuePairOptions.builder()
                        .threading(QueuePairOptions.Threading.SHARED)
                        .completion(vectors.isEmpty() ? QueuePairOptions.Completion.POLLING
                                : QueuePairOptions.Completion.INTERRUPT)
                        .build());
            }
            return defaultQueuePair;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reset and recovery
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Schedules a controller reset for a problem seen in controller generation {@code observed}. Requests about a
     * generation that has already been reset, or for which a reset is already scheduled, are dropped: one problem
     * never causes two resets.
     */
    void requestReset(String reason, long observed) {
        synchronized (stateLock) {
            if (!broughtUp) {
                return; // bring-up fails instead, and abandon() cleans up: a reset must not run beside it
            }
            if (state == State.CLOSED || state == State.FAILED || state == State.RESETTING
                    || observed != generation || resetScheduledFor == generation) {
                // While a reset runs, only it uses the controller: it retries what fails during it itself.
                return;
            }
            resetScheduledFor = generation;
            pendingResetReason = reason;
        }
        LOG.warn("{}: reset requested: {}", address, reason);
        workqueue.enqueue(resetWork);
    }

    private void deviceFault(String what) {
        requestReset("invalid completion entry: " + what, generation);
    }

    /** An admin command timed out: reset, as Linux does (the reset also reclaims the command's slot). */
    private void adminTimedOut(String what) {
        requestReset("admin command timed out: " + what, generation);
    }

    /**
     * Resets the controller and waits for the reset to finish: every I/O queue pair is recreated; outstanding
     * commands are resubmitted or failed (see {@link IoQueuePair}).
     *
     * @throws ControllerFailedException if the reset failed
     */
    public void reset() {
        requireLive();
        requestReset("requested by the application", generation);
        workqueue.flush();
        if (state == State.FAILED) {
            throw new ControllerFailedException(address + ": reset failed: " + failure);
        }
    }

    private void resetNow() {
        String reason;
        synchronized (stateLock) {
            if (state == State.CLOSED || state == State.FAILED) {
                return;
            }
            reason = pendingResetReason;
            lastResetReason = reason;
            state = State.RESETTING;
            generation++;
            resets++;
        }
        LOG.warn("{}: resetting controller (reset #{}): {}", address, resets, reason);
        admin.quiesce(); // nothing more goes into the rings the reset is about to rewind
        int granted = -1;
        for (int attempt = 1; granted < 0; attempt++) {
            try {
                disable();
                awaitFatalStatusCleared();
                admin.abortAllAndReset(new NvmeException("admin command aborted by a controller reset (" + reason
                        + ")"));
                enable();
                granted = setNumberOfQueues(options.ioQueues());
            } catch (RevokedException e) {
                deviceGone(e);
                return;
            } catch (RuntimeException e) {
                // A fault during the reset itself (fatal status while enabling, an admin command the device never
                // completes) is no reason to give up on the device: a new attempt starts from CC.EN = 0 again. Only
                // a device that keeps failing is declared failed, as Linux bounds its recovery.
                if (attempt >= RESET_ATTEMPTS) {
                    fail("reset failed after " + attempt + " attempts: " + e.getMessage());
                    return;
                }
                LOG.warn("{}: reset #{} attempt {} of {} failed, retrying: {}", address, resets, attempt,
                        RESET_ATTEMPTS, e.getMessage());
                admin.quiesce();
            }
        }
        synchronized (stateLock) {
            grantedQueues = granted;
            state = State.LIVE;
            stateLock.notifyAll();
        }
        try {
            armAsyncEvents();
            for (IoQueuePair qp : queuePairsSnapshot()) {
                if (qp.isShared()) {
                    qp.recoverShared();
                }
            }
            LOG.info("{}: reset complete", address);
        } catch (RevokedException e) {
            deviceGone(e);
        } catch (RuntimeException e) {
            // The controller is live: a problem here (fatal status again, say) is noticed like any other and causes
            // a new reset; it does not fail the one that succeeded.
            LOG.warn("{}: after reset #{}: {}", address, resets, e.getMessage());
        }
    }

    /**
     * Waits (if {@code wait}) until the controller is live. {@return its generation, or -1 if resetting and not
     * waiting}
     *
     * @throws ControllerFailedException if it failed or was closed
     */
    long awaitLive(boolean wait) {
        synchronized (stateLock) {
            // Every attempt of the reset may take both CAP.TO waits and one admin timeout.
            long deadline = System.nanoTime() + RESET_ATTEMPTS * (TimeUnit.MILLISECONDS.toNanos(2 * cap.timeoutMillis())
                    + options.adminTimeout().toNanos()) + options.adminTimeout().toNanos();
            while (state == State.RESETTING) {
                if (!wait) {
                    return -1;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new ControllerFailedException(address + ": reset did not finish");
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(stateLock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ControllerFailedException(address + ": interrupted while waiting for a reset", e);
                }
            }
            if (state != State.LIVE) {
                throw new ControllerFailedException(address + " is " + state.name().toLowerCase()
                        + (failure != null ? ": " + failure : ""));
            }
            return generation;
        }
    }

    private void watchdogTick() {
        if (state == State.CLOSED || state == State.FAILED) {
            return;
        }
        try {
            int csts = NvmeRegs.CSTS.read(regs);
            if (csts == -1) {
                fail("CSTS reads 0xffffffff: the device is not responding");
                return;
            }
            if (state == State.LIVE && NvmeRegs.CSTS_CFS.isSet(csts)) {
                requestReset("controller fatal status (CSTS.CFS)", generation);
            } else if (state == State.LIVE) {
                admin.poll();
                String stuck = admin.expired(System.nanoTime());
                if (stuck != null) {
                    requestReset("admin command timed out: " + stuck, generation);
                }
                for (IoQueuePair qp : queuePairsSnapshot()) {
                    qp.watchdog();
                }
            }
        } catch (RevokedException e) {
            deviceGone(e);
            return;
        } catch (RuntimeException e) {
            LOG.error("{}: watchdog failed", address, e);
        }
        if (state != State.CLOSED && state != State.FAILED) {
            workqueue.enqueue(watchdog, options.watchdogPeriod());
        }
    }

    private List<IoQueuePair> queuePairsSnapshot() {
        synchronized (stateLock) {
            return List.copyOf(queuePairs.values());
        }
    }

    private void fail(String why) {
        synchronized (stateLock) {
            if (state == State.CLOSED || state == State.FAILED) {
                return;
            }
            failure = why;
            state = State.FAILED;
            stateLock.notifyAll();
        }
        LOG.error("{}: controller failed: {}", address, why);
        admin.quiesce();
        try {
            disable();
        } catch (RuntimeException e) {
            LOG.error("{}: could not disable the failed controller ({}); DMA buffers of outstanding commands stay "
                    + "pinned", address, e.getMessage());
        }
        admin.abortAllAndReset(new ControllerFailedException(address + " failed: " + why));
        for (IoQueuePair qp : queuePairsSnapshot()) {
            qp.markFailed();
            if (qp.isShared()) {
                qp.processCompletionsQuietly();
            }
        }
    }

    /** The device vanished (its BAR was revoked): no DMA can happen any more. */
    void deviceGone(RuntimeException cause) {
        dmaStopped = true;
        fail("the device is gone (" + cause.getMessage() + ")");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Accessors
    // ---------------------------------------------------------------------------------------------------------

    /** {@return the controller's PCI address} */
    public PciAddress address() {
        return address;
    }

    /** {@return the PCI function} */
    public PciDevice device() {
        return device;
    }

    /** {@return Identify Controller data} */
    public ControllerInfo info() {
        return info;
    }

    /** {@return the decoded CAP register} */
    public Capabilities capabilities() {
        return cap;
    }

    /** {@return the current state} */
    public State state() {
        return state;
    }

    /** {@return why the controller failed, or null} */
    public String failureReason() {
        return failure;
    }

    /** {@return how many resets have run} */
    public long resetCount() {
        return resets;
    }

    /** {@return why the most recent reset ran (as logged), or null if none has} */
    public String lastResetReason() {
        return lastResetReason;
    }

    /** {@return the I/O queue pairs the controller granted} */
    public int maxQueuePairs() {
        return grantedQueues;
    }

    /** {@return the number of MSI-X vectors in use (0: polling only)} */
    public int interruptVectors() {
        return vectors.size();
    }

    /** {@return the largest transfer one command may carry (MDTS) in bytes, 0 for no limit} */
    public long maxTransferBytes() {
        return info == null ? 0 : info.maxTransferBytes(cap.minPageSize());
    }

    /**
     * {@return the largest transfer one I/O command carries: MDTS, and at most 2 MiB (what one PRP list page can
     * describe)} A larger read or write is split into several commands, each taking its own queue slot.
     */
    public long maxCommandBytes() {
        long mdts = maxTransferBytes();
        return mdts == 0 ? IoQueuePair.MAX_COMMAND_BYTES : Math.min(mdts, IoQueuePair.MAX_COMMAND_BYTES);
    }

    /** {@return the DMA pool for this controller's buffers (mapped for the device)} */
    public DmaPool dmaPool() {
        return pool;
    }

    /** {@return the active namespaces, by ID} */
    public List<Namespace> namespaces() {
        synchronized (stateLock) {
            return List.copyOf(namespaces.values());
        }
    }

    /**
     * {@return the active namespace {@code nsid}}
     *
     * @throws IllegalArgumentException if it is not active
     */
    public Namespace namespace(int nsid) {
        synchronized (stateLock) {
            Namespace ns = namespaces.get(nsid);
            if (ns == null) {
                throw new IllegalArgumentException("controller " + address + " has no active namespace " + nsid
                        + " (active: " + namespaces.keySet() + ")");
            }
            return ns;
        }
    }

    NvmeOptions options() {
        return options;
    }

    Mmio regs() {
        return regs;
    }

    int dstrd() {
        return cap.doorbellStride();
    }

    long generation() {
        return generation;
    }

    boolean dmaStopped() {
        return dmaStopped;
    }

    DeviceAddressSpace addressSpace() {
        return pool.addressSpace();
    }

    private void requireLive() {
        State s = state;
        if (s == State.CLOSED) {
            // After a surprise removal or failed bring-up the controller is closed with a reason: give it.
            String why = failure;
            throw new IllegalStateException("controller " + address + " is closed" + (why != null ? ": " + why : ""));
        }
        if (s == State.FAILED) {
            throw new ControllerFailedException("controller " + address + " failed: " + failure);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Shutdown
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Shuts the controller down: closes namespaces and shared queue pairs (outstanding commands complete first,
     * up to their timeout), deletes the I/O queues, performs a normal shutdown ({@code CC.SHN}, waiting for
     * {@code CSTS.SHST} complete), disables the controller and frees its memory. Owner-thread queue pairs still
     * open are marked failed first, and then their queues are deleted too (NVMe 1.4 section 7.6.2: submission
     * queues, then completion queues, before the shutdown), with admin commands only: their rings stay their
     * owner's, whose next call completes their commands with an error and frees them. Idempotent.
     */
    @Override
    public void close() {
        synchronized (stateLock) {
            if (state == State.CLOSED) {
                return;
            }
        }
        watchdog.cancel();
        for (Namespace ns : namespaces()) {
            ns.closeQuietly();
        }
        for (IoQueuePair qp : queuePairsSnapshot()) {
            if (qp.isShared()) {
                try {
                    qp.close();
                } catch (RuntimeException e) {
                    LOG.warn("{}: closing {} failed: {}", address, qp, e.getMessage());
                }
            } else {
                // The owner may be between its state check and a doorbell write: such a late write reaches a
                // deleted queue, which a controller reports as an error event, harmless here. Its commands are
                // aborted by the deletion; the owner sees them failed on its next call.
                qp.markFailed();
                deleteQueuesOnDevice(qp, false);
            }
        }
        State before;
        synchronized (stateLock) {
            before = state;
            state = State.CLOSED;
            stateLock.notifyAll();
        }
        admin.quiesce(); // the I/O queues are gone: no admin command may follow the shutdown
        try {
            if (before == State.LIVE) {
                shutdown();
            } else if (before != State.FAILED || !dmaStopped) {
                disable();
            }
        } catch (RevokedException e) {
            dmaStopped = true; // the device is gone
        } catch (RuntimeException e) {
            LOG.error("{}: shutdown failed: {}", address, e.getMessage());
        }
        admin.abortAllAndReset(new ControllerFailedException(address + " is closed"));
        removeAdminInterrupt();
        workqueue.destroy();
        if (dmaStopped) {
            admin.release();
            releaseRingsAfterDmaStopped();
        } else {
            LOG.error("{}: the controller could not be disabled; its queue memory is kept", address);
        }
        LOG.info("{}: closed", address);
        Runnable unbind = unbindOnClose;
        if (unbind != null) {
            unbindOnClose = null;
            unbind.run();
        }
    }

    /**
     * Normal shutdown (section 7.6.2), after {@link #close()} deleted the I/O queues: CC.SHN = 01b, wait
     * CSTS.SHST = 10b, then disable.
     */
    private void shutdown() {
        int cc = NvmeRegs.CC.read(regs);
        NvmeRegs.CC.write(regs, NvmeRegs.CC_SHN.with(cc, NvmeRegs.SHN_NORMAL));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(cap.timeoutMillis(), 5000));
        while (NvmeRegs.CSTS_SHST.get(NvmeRegs.CSTS.read(regs)) != NvmeRegs.SHST_COMPLETE) {
            if (System.nanoTime() - deadline > 0) {
                LOG.warn("{}: shutdown did not complete in time; disabling", address);
                break;
            }
            LockSupport.parkNanos(100_000);
        }
        disable();
    }

    /**
     * Once the device can no longer DMA (disabled, or gone): the rings of every queue pair are plain memory again,
     * so the device's DMA pool can free them at unbind. The pairs are failed first, so their owners never read the
     * rings again.
     */
    private void releaseRingsAfterDmaStopped() {
        for (IoQueuePair qp : queuePairsSnapshot()) {
            qp.markFailed();
            qp.queue().deviceOwnsRings(false);
        }
        List<IoQueuePair> left;
        synchronized (stateLock) {
            left = List.copyOf(orphans);
            orphans.clear();
        }
        left.forEach(IoQueuePair::releaseAfterDisable);
    }

    /** Surprise removal or failed probe: stop without touching a device that may be gone. */
    void abandon(String why) {
        synchronized (stateLock) {
            if (state == State.CLOSED) {
                return;
            }
            failure = why;
            state = State.CLOSED;
            stateLock.notifyAll();
        }
        watchdog.cancel();
        if (admin != null) {
            admin.quiesce();
        }
        try {
            disable();
        } catch (RuntimeException e) {
            // Revoked: the device is gone and cannot DMA. Otherwise it did not disable: keep memory pinned.
            dmaStopped = dmaStopped || e instanceof RevokedException;
        }
        for (IoQueuePair qp : queuePairsSnapshot()) {
            qp.markFailed();
            if (qp.isShared()) {
                qp.processCompletionsQuietly();
            }
        }
        if (admin != null) {
            admin.abortAllAndReset(new ControllerFailedException(address + ": " + why));
            if (dmaStopped) {
                admin.release();
            }
        }
        if (dmaStopped) {
            releaseRingsAfterDmaStopped();
        }
        removeAdminInterrupt();
        workqueue.destroy();
    }

    /** Takes the admin queue's handler (only it) off vector 0 before the workqueue it feeds goes away. */
    private void removeAdminInterrupt() {
        List<InterruptVector> v = vectors; // null if bring-up failed before interrupts were enabled
        if (v != null && !v.isEmpty()) {
            v.getFirst().removeHandler(adminInterrupt);
        }
    }

    @Override
    public String toString() {
        return "NvmeController[" + address + (info != null ? ", " + info.modelNumber() : "") + ", " + state + "]";
    }

}
