package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.DeviceModel;
import dev.ferrum.driver.mock.DmaEngine;
import dev.ferrum.driver.mock.IommuFaultException;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.internal.NvmeRegs;
import dev.ferrum.sys.nvme.Nvme;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Predicate;

import static dev.ferrum.nvme.mock.Layout.SQE_SHIFT;
import static dev.ferrum.nvme.mock.Layout.U32;
import static dev.ferrum.nvme.mock.Layout.U64;

/**
 * A mock NVMe controller (NVM Express Base Specification 1.4, NVM command set) on the {@link
 * dev.ferrum.driver.mock.MockPciBus}: a device model that behaves like the silicon. It watches its BAR0 registers,
 * fetches commands from submission queues in host memory through the mock IOMMU, moves data by PRPs, posts
 * completions with phase tags and raises each completion queue's MSI-X vector; on its own thread, or when stepped.
 *
 * {@snippet class=dev.ferrum.example.javadoc.NvmeExamplesTest region=mock}
 *
 * <h2>What the driver sees</h2>
 * PCI 1de5:0a0e, class 01:08:02, a 64-bit BAR0 holding the registers, the
 * doorbells at 0x1000 with stride {@code 4 << CAP.DSTRD}, and the MSI-X table and PBA after the doorbells.
 * <ul>
 *   <li>CAP: MQES, CQR=1, AMS=0, TO, DSTRD, CSS (NVM, or with {@code nvmCommandSet(false)} only "no I/O command
 *       set"), MPSMIN and MPSMAX from the config; VS = 1.4.0. Writes to CAP and VS are undone.</li>
 *   <li>CC.EN 0→1: AQA, ASQ, ACQ and CC are validated (CSS=0, MPSMIN ≤ MPS ≤ MPSMAX, AMS=0, IOSQES=6,
 *       IOCQES=4, admin queue sizes 2..4096, queue bases page aligned and mapped); CSTS.RDY=1 after the
 *       configured ready delay, or CSTS.CFS=1 for a bad configuration or when configured to fail while enabling
 *       ({@code fatalOnEnable}); {@link #fatalReason()} says why.</li>
 *   <li>CC.EN 1→0: controller reset: every queue deleted, outstanding and held commands discarded without
 *       completion, outstanding AERs dropped, features back to defaults, doorbells zeroed, CSTS = 0.
 *       The media, the SMART counters and the error log survive.</li>
 *   <li>CC.SHN ≠ 0 while enabled: CSTS.SHST=1 for the configured shutdown delay, then 2; from then on no command
 *       is fetched until a reset. A reset without a completed shutdown counts as an unsafe shutdown (SMART).</li>
 *   <li>INTMS/INTMC are ignored (this controller signals only by MSI-X, where the spec forbids their use).</li>
 * </ul>
 *
 * <h2>Doorbells the host gets wrong</h2>
 * Never an index out of bounds: a tail or head value outside its queue (≥ queue size) is a fatal host error:
 * CSTS.CFS=1. A completion head that is in range but passes the controller's tail (releasing entries never posted)
 * is ignored and reported as an asynchronous event (Error, Invalid Doorbell Write Value, log page 01h) plus an
 * Error Information entry. A write to the doorbell of a queue that does not exist is found when the controller is
 * idle, reported likewise (Error, Write to Invalid Doorbell Register) and the register is cleared.
 *
 * <h2>Completion and DMA rules</h2>
 * A completion is never written over an entry the host has not released: when a completion queue is full, the
 * controller stops fetching from the submission queues that post to it (their SQ head stops moving) and holds
 * other completions until the head doorbell moves. Each entry's body is written first and DW3 (CID, status,
 * phase) last with release ordering. Rings are translated once at queue creation; if the host unmaps ring memory
 * of a live queue, the IOMMU fault is recorded and the controller goes fatal (CFS). A data transfer the IOMMU
 * blocks completes the command with Data Transfer Error (the fault is recorded on the IOMMU).
 *
 * <h2>Processing passes</h2>
 * One {@link #step()} (or one loop of the controller's thread) is one pass: CC/CSTS handling; then, if ready, not
 * fatal, not shut down and bus mastering is on: held commands that are due, up to {@value #BURST} commands from
 * each submission queue in round-robin order (the starting queue rotates every pass), reportable asynchronous
 * events, and one MSI-X interrupt per completion queue that got entries. A pass that did nothing also checks for
 * doorbell writes to absent queues. {@code stepUntilIdle(n)} therefore runs every fetchable command; delayed
 * commands complete in the first pass after their due time.
 *
 * <h2>Statuses</h2>
 * Errors caused by what the host put in a command (invalid opcode, field, namespace, PRP offset, LBA range, queue
 * identifier or size, ...) carry Do Not Retry; Data Transfer Error (an IOMMU fault), Internal Error, Command Abort
 * Requested and Command Aborted due to SQ Deletion do not. Every failed command except the two aborts gets an
 * Error Information log entry. Injected statuses carry DNR as the rule says.
 *
 * <h2>Fault injection and statistics</h2>
 * Rules ({@link #injectStatus}, {@link #dropCommands}, {@link #delayCommands}, {@link #corruptCompletions}) match
 * commands by a predicate on {@link CommandView} when the controller fetches them; {@link #fatal(String)} sets
 * CSTS.CFS at once; {@link #postAsyncEvent} queues an asynchronous event. Per-opcode counters, resets, held
 * commands and (optionally) every fetched command can be read from any thread.
 *
 * <p>Invariants: the controller thread (or the stepping thread) alone runs commands and owns all queue state;
 * public methods are thread-safe; the command hot path (fetch, decode, execute in null mode, post, doorbell reads)
 * allocates nothing while no fault rule is active and recording is off; every value read from host memory or
 * the doorbells is validated before it is used as an index or size.
 */
public final class MockNvmeController extends DeviceModel {
    private static final Logger LOG = LoggerFactory.getLogger(MockNvmeController.class);

    /** PCI vendor ID (also the Identify VID and SSVID). */
    public static final int VENDOR_ID = 0x1de5;
    /** PCI device ID. */
    public static final int DEVICE_ID = 0x0a0e;
    /** PCI subsystem ID. */
    public static final int SUBSYSTEM_ID = 0x0001;
    /** PCI class code: mass storage, non-volatile memory, NVMe. */
    public static final int CLASS_CODE = 0x010802;

    private static final long REG_CAP = Nvme.NVME_REG_CAP();
    private static final long REG_VS = Nvme.NVME_REG_VS();
    private static final long REG_CC = Nvme.NVME_REG_CC();
    private static final long REG_CSTS = Nvme.NVME_REG_CSTS();
    private static final long REG_AQA = Nvme.NVME_REG_AQA();
    private static final long REG_ASQ = Nvme.NVME_REG_ASQ();
    private static final long REG_ACQ = Nvme.NVME_REG_ACQ();
    private static final int CSTS_RDY = 1;
    private static final int CSTS_CFS = 1 << 1;
    /** CAP.CSS bit 7: the controller supports no I/O command set, only the admin command set. */
    private static final int CSS_NO_IO_COMMAND_SET = 1 << 7;
    private static final int CSTS_SHST_SHIFT = 2;
    private static final int CSTS_SHST_MASK = 3 << CSTS_SHST_SHIFT;
    private static final int SHST_NONE = NvmeRegs.SHST_NORMAL;
    private static final int SHST_OCCURRING = NvmeRegs.SHST_OCCURRING;
    private static final int SHST_COMPLETE = NvmeRegs.SHST_COMPLETE;
    /** Commands fetched from one submission queue before moving to the next (round robin burst). */
    static final int BURST = 8;

    final Config config;
    private final MemorySegment regs;
    private final long cap;
    private final int maxQueueId;
    private final long doorbellStride;
    private final long doorbellEnd;
    private final long createdNanos = System.nanoTime();

    private final NamespaceState[] namespaces;
    private final SubmissionQueue[] sqs;
    private final CompletionQueue[] cqs;
    private SubmissionQueue[] active = new SubmissionQueue[0];
    private int roundRobin;
    private final CompletionQueue[] interruptQueue;
    private int interruptCount;

    private final Command cmd = new Command();
    final PrpTransfer prp;
    final AdminCommands admin;
    final IoCommands io;
    final ErrorLog errorLog;
    final AsyncEvents events;
    private final ArrayList<HeldCommand> held = new ArrayList<>();

    // Controller state (controller thread only).
    private int lastCc;
    private boolean enabling;
    private long enableDue;
    private int enableSteps;
    private boolean ready;
    private boolean fatal;
    private int shutdownState = SHST_NONE;
    private long shutdownDue;
    int pageSize = 4096;
    private long maxTransfer;
    long unsafeShutdowns;
    long mediaErrors;

    // Shared with other threads.
    private final Object ruleLock = new Object();
    private volatile FaultRule[] rules = new FaultRule[0];
    private volatile String fatalRequest;
    private volatile String fatalReason;
    private volatile List<CommandView> heldViews = List.of();
    private final ConcurrentLinkedQueue<Integer> injectedEvents = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<CommandView> recorded = new ArrayDeque<>();
    private volatile int recordCapacity;
    private final AtomicLongArray adminReceived = new AtomicLongArray(256);
    private final AtomicLongArray ioReceived = new AtomicLongArray(256);
    private final AtomicLongArray adminCompleted = new AtomicLongArray(256);
    private final AtomicLongArray ioCompleted = new AtomicLongArray(256);
    private volatile int controllerResets;
    private volatile int functionLevelResets;
    private volatile int shutdowns;
    private volatile List<Integer> ioQueuesAtShutdown = List.of();
    private volatile long interruptsRaised;
    private volatile long invalidDoorbells;

    /** A controller with the default {@link Config}. */
    public MockNvmeController() {
        this(Config.builder().build());
    }

    /** A controller with {@code config}; it starts in the power-on state (CC = 0, CSTS = 0). */
    public MockNvmeController(Config config) {
        super(pciConfig(config));
        this.config = config;
        this.regs = bar(0);
        this.maxQueueId = config.maxIoQueuePairs();
        this.doorbellStride = 4L << config.doorbellStride();
        this.doorbellEnd = NvmeRegs.DOORBELL_BASE + 2L * (maxQueueId + 1) * doorbellStride;
        long c = 0;
        c = NvmeRegs.CAP_MQES.with(c, config.mqes());
        c = NvmeRegs.CAP_CQR.with(c, 1);
        c = NvmeRegs.CAP_TO.with(c, config.timeout());
        c = NvmeRegs.CAP_DSTRD.with(c, config.doorbellStride());
        c = NvmeRegs.CAP_CSS.with(c, config.nvmCommandSet() ? 1 : CSS_NO_IO_COMMAND_SET);
        c = NvmeRegs.CAP_MPSMIN.with(c, config.mpsMin());
        c = NvmeRegs.CAP_MPSMAX.with(c, config.mpsMax());
        this.cap = c;
        this.sqs = new SubmissionQueue[maxQueueId + 1];
        this.cqs = new CompletionQueue[maxQueueId + 1];
        this.interruptQueue = new CompletionQueue[maxQueueId + 1];
        this.namespaces = new NamespaceState[config.namespaces().size()];
        for (int i = 0; i < namespaces.length; i++) {
            Namespace n = config.namespaces().get(i);
            int shift = Integer.numberOfTrailingZeros(n.lbaSize());
            long bytes = n.blocks() << shift;
            BlockStore store = n.file() == null ? new RamBlockStore(bytes) : new FileBlockStore(n.file(), bytes);
            namespaces[i] = new NamespaceState(i + 1, n.blocks(), shift,
                    store, IdentifyData.namespace(config, i + 1, n.blocks(), shift));
        }
        this.prp = new PrpTransfer(4096 << config.mpsMax());
        this.errorLog = new ErrorLog(config.errorLogEntries());
        this.events = new AsyncEvents(config.asyncEventLimit());
        this.io = new IoCommands(this);
        this.admin = new AdminCommands(this, IdentifyData.controller(config, VENDOR_ID, VENDOR_ID));
        powerOn();
    }

    private static DeviceConfig pciConfig(Config c) {
        Objects.requireNonNull(c, "config");
        long stride = 4L << c.doorbellStride();
        long doorbellsEnd = NvmeRegs.DOORBELL_BASE + 2L * (c.maxIoQueuePairs() + 1) * stride;
        long table = alignUp(doorbellsEnd, 0x1000);
        long pba = alignUp(table + 16L * c.msixVectors(), 0x1000);
        long end = pba + 8L * ((c.msixVectors() + 63) / 64);
        long size = Math.max(16 * 1024, Long.highestOneBit(end - 1) << 1);
        return DeviceConfig.builder(VENDOR_ID, DEVICE_ID, CLASS_CODE).subsystem(VENDOR_ID, SUBSYSTEM_ID)
                .bar(0, size, true, false).msix(c.msixVectors(), 0, (int) table, (int) pba).build();
    }

    private static long alignUp(long v, long a) {
        return (v + a - 1) & -a;
    }

    /** {@return the NVMe configuration this controller was built with} */
    public Config nvmeConfig() {
        return config;
    }

    // =====================================================================================================
    // Device model
    // =====================================================================================================

    @Override
    protected boolean process() {
        boolean did = control();
        if (!ready || fatal || shutdownState == SHST_COMPLETE || !busMasterEnabled()) {
            return did;
        }
        if (!injectedEvents.isEmpty()) {
            Integer e;
            while ((e = injectedEvents.poll()) != null) {
                events.post(e);
            }
        }
        try {
            if (!held.isEmpty()) {
                did |= processHeld(true);
            }
            did |= processQueues();
            if (!fatal && events.reportable() >= 0) {
                did |= deliverEvents();
            }
        } catch (IllegalStateException e) {
            ringUnmapped(e);
            did = true;
        }
        raiseInterrupts();
        if (!did && !fatal) {
            checkIdleDoorbells();
        }
        return did;
    }

    @Override
    protected void reset() {
        functionLevelResets++;
        powerOn();
    }

    /** Power-on (and function-level reset) state of registers and controller. */
    private void powerOn() {
        regs.asSlice(0, doorbellEnd).fill((byte) 0);
        U64.setRelease(regs, REG_CAP, cap);
        U32.setRelease(regs, REG_VS, IdentifyData.VERSION);
        lastCc = 0;
        clearControllerState();
    }

    /** Registers: CC edges, ready and shutdown timing, injected fatal errors. {@return whether anything changed} */
    private boolean control() {
        boolean did = false;
        if ((long) U64.getOpaque(regs, REG_CAP) != cap || (int) U32.getOpaque(regs, REG_VS) != IdentifyData.VERSION) {
            // Read-only registers: undo what a driver wrote.
            U64.setRelease(regs, REG_CAP, cap);
            U32.setRelease(regs, REG_VS, IdentifyData.VERSION);
        }
        // Acquire: AQA/ASQ/ACQ written before CC are visible once the new CC is.
        int cc = (int) U32.getAcquire(regs, REG_CC);
        if (cc != lastCc) {
            int previous = lastCc;
            lastCc = cc;
            did = true;
            boolean enable = NvmeRegs.CC_EN.isSet(cc);
            boolean wasEnabled = NvmeRegs.CC_EN.isSet(previous);
            if (wasEnabled && !enable) {
                controllerReset();
            } else if (!wasEnabled && enable) {
                startEnable(cc);
            }
            if (enable && NvmeRegs.CC_SHN.get(cc) != 0 && NvmeRegs.CC_SHN.get(previous) == 0) {
                startShutdown();
            }
        }
        String request = fatalRequest;
        if (request != null && !fatal) {
            fail(request);
            did = true;
        }
        if (enabling && !fatal && System.nanoTime() - enableDue >= 0 && enableSteps-- <= 0) {
            becomeReady();
            did = true;
        }
        if (shutdownState == SHST_OCCURRING && System.nanoTime() - shutdownDue >= 0) {
            setShutdownStatus(SHST_COMPLETE);
            shutdowns++;
            did = true;
        }
        return did;
    }

    private void startEnable(int cc) {
        if (fatal) {
            clearControllerState(); // fatal while disabled: the controller is already in reset
        }
        int mps = NvmeRegs.CC_MPS.get(cc);
        int aqa = (int) U32.getAcquire(regs, REG_AQA);
        long asq = (long) U64.getAcquire(regs, REG_ASQ);
        long acq = (long) U64.getAcquire(regs, REG_ACQ);
        long page = 4096L << mps;
        String bad = null;
        if (NvmeRegs.CC_CSS.get(cc) != 0) {
            bad = "CC.CSS=" + NvmeRegs.CC_CSS.get(cc) + ": only the NVM command set (0) is supported";
        } else if (mps > config.mpsMax() || mps < config.mpsMin()) {
            bad = "CC.MPS=" + mps + " is outside CAP.MPSMIN..MPSMAX=" + config.mpsMin() + ".." + config.mpsMax();
        } else if (NvmeRegs.CC_AMS.get(cc) != 0) {
            bad = "CC.AMS=" + NvmeRegs.CC_AMS.get(cc) + ": only round robin (0) is supported";
        } else if (NvmeRegs.CC_IOSQES.get(cc) != 6 || NvmeRegs.CC_IOCQES.get(cc) != 4) {
            bad = "CC.IOSQES=" + NvmeRegs.CC_IOSQES.get(cc) + ", CC.IOCQES=" + NvmeRegs.CC_IOCQES.get(cc)
                    + ": entries are 64 (6) and 16 (4) bytes";
        } else if (NvmeRegs.AQA_ASQS.get(aqa) < 1 || NvmeRegs.AQA_ACQS.get(aqa) < 1) {
            bad = "AQA=0x" + Integer.toHexString(aqa) + ": admin queues need at least 2 entries";
        } else if (asq == 0 || (asq & (page - 1)) != 0 || acq == 0 || (acq & (page - 1)) != 0) {
            bad = String.format("ASQ=0x%x, ACQ=0x%x: admin queue bases must be nonzero and %d-byte aligned", asq, acq,
                    page);
        }
        if (bad != null) {
            fail("CC.EN=1 with an invalid configuration: " + bad);
            return;
        }
        if (config.fatalOnEnable()) {
            fail("injected: internal error while enabling");
            return;
        }
        pageSize = (int) page;
        maxTransfer = config.mdts() == 0 ? 0 : 4096L << config.mdts();
        enabling = true;
        enableDue = System.nanoTime() + config.readyDelay().toNanos();
        // The pass that sees CC.EN counts too: RDY comes readyDelaySteps passes after it.
        enableSteps = config.readyDelaySteps() == 0 ? 0 : config.readyDelaySteps() + 1;
    }

    private void becomeReady() {
        enabling = false;
        int aqa = (int) U32.getAcquire(regs, REG_AQA);
        long asq = (long) U64.getAcquire(regs, REG_ASQ);
        long acq = (long) U64.getAcquire(regs, REG_ACQ);
        int sqEntries = NvmeRegs.AQA_ASQS.get(aqa) + 1;
        int cqEntries = NvmeRegs.AQA_ACQS.get(aqa) + 1;
        MemorySegment cqRing;
        MemorySegment sqRing;
        try {
            cqRing = engine().translate(acq, (long) cqEntries << Layout.CQE_SHIFT, true);
            sqRing = engine().translate(asq, (long) sqEntries << SQE_SHIFT, false);
        } catch (IommuFaultException e) {
            fail("CC.EN=1 but the admin queues are not reachable: " + e.getMessage());
            return;
        }
        CompletionQueue cq = new CompletionQueue(0, cqEntries, acq, cqRing, true, 0, cqHeadDoorbell(0));
        cq.submissionQueues = 1;
        cqs[0] = cq;
        sqs[0] = new SubmissionQueue(0, sqEntries, asq, sqRing, cq, sqTailDoorbell(0));
        rebuildActive();
        ready = true;
        // Release: the controller's state is set up before the host can see RDY.
        U32.getAndBitwiseOrRelease(regs, REG_CSTS, CSTS_RDY);
    }

    private void startShutdown() {
        List<Integer> left = new ArrayList<>();
        for (int q = 1; q <= maxQueueId; q++) {
            if (sqs[q] != null || cqs[q] != null) {
                left.add(q);
            }
        }
        ioQueuesAtShutdown = List.copyOf(left);
        enabling = false;
        shutdownState = SHST_OCCURRING;
        shutdownDue = System.nanoTime() + config.shutdownDelay().toNanos();
        setShutdownStatus(SHST_OCCURRING);
    }

    private void setShutdownStatus(int shst) {
        shutdownState = shst;
        int old;
        do {
            old = (int) U32.getVolatile(regs, REG_CSTS);
        } while (!U32.compareAndSet(regs, REG_CSTS, old, (old & ~CSTS_SHST_MASK) | shst << CSTS_SHST_SHIFT));
    }

    /** CC.EN 1→0: the controller reset of NVMe 1.4 section 7.3.2. */
    private void controllerReset() {
        if (ready && shutdownState != SHST_COMPLETE) {
            unsafeShutdowns++;
        }
        controllerResets++;
        LOG.debug("controller reset (CC.EN 1 -> 0)");
        clearControllerState();
    }

    private void clearControllerState() {
        for (int q = 0; q <= maxQueueId; q++) {
            if (sqs[q] != null) {
                sqs[q].deleted = true;
                sqs[q] = null;
            }
            if (cqs[q] != null) {
                cqs[q].deleted = true;
                cqs[q] = null;
            }
        }
        active = new SubmissionQueue[0];
        roundRobin = 0;
        interruptCount = 0;
        held.clear();
        publishHeld();
        events.clear();
        injectedEvents.clear();
        admin.resetFeatures();
        regs.asSlice(NvmeRegs.DOORBELL_BASE, doorbellEnd - NvmeRegs.DOORBELL_BASE).fill((byte) 0);
        enabling = false;
        ready = false;
        fatal = false;
        fatalRequest = null;
        fatalReason = null;
        shutdownState = SHST_NONE;
        // Release: the host sees RDY=0 only after the queues are gone.
        U32.setRelease(regs, REG_CSTS, 0);
    }

    /** Controller fatal status: CSTS.CFS=1; nothing more is processed until a reset. */
    private void fail(String reason) {
        if (fatal) {
            return;
        }
        fatal = true;
        fatalReason = reason;
        LOG.warn("mock NVMe controller fatal (CSTS.CFS=1): {}", reason);
        U32.getAndBitwiseOrRelease(regs, REG_CSTS, CSTS_CFS);
    }

    /** A ring view threw: its IOVA was unmapped while the queue exists. Record the fault, then fail. */
    private void ringUnmapped(IllegalStateException e) {
        for (int q = 0; q <= maxQueueId; q++) {
            SubmissionQueue sq = sqs[q];
            if (sq != null && !sq.ring.scope().isAlive()) {
                ringFault("SQ " + q, sq.base);
                return;
            }
            CompletionQueue cq = cqs[q];
            if (cq != null && !cq.ring.scope().isAlive()) {
                ringFault("CQ " + q, cq.base);
                return;
            }
        }
        throw e;
    }

    private void ringFault(String queue, long base) {
        String detail = "unmapped";
        try {
            engine().readInt(base); // fails again through the engine, which records the IOMMU fault
        } catch (IommuFaultException f) {
            detail = f.getMessage();
        }
        fail(queue + " memory at IOVA 0x" + Long.toHexString(base) + " was unmapped while the queue exists: "
                + detail);
    }

    // =====================================================================================================
    // Queues
    // =====================================================================================================

    private long sqTailDoorbell(int qid) {
        return NvmeRegs.DOORBELL_BASE + 2L * qid * doorbellStride;
    }

    private long cqHeadDoorbell(int qid) {
        return NvmeRegs.DOORBELL_BASE + (2L * qid + 1) * doorbellStride;
    }

    private boolean processQueues() {
        SubmissionQueue[] a = active;
        int n = a.length;
        if (n == 0) {
            return false;
        }
        boolean did = false;
        int start = roundRobin < n ? roundRobin : 0;
        roundRobin = start + 1 < n ? start + 1 : 0;
        for (int i = 0; i < n && !fatal; i++) {
            int k = start + i < n ? start + i : start + i - n;
            SubmissionQueue sq = a[k];
            if (!sq.deleted && drain(sq)) {
                did = true;
            }
        }
        return did;
    }

    /** Fetches and executes up to {@link #BURST} commands of {@code sq}. {@return whether any was fetched} */
    private boolean drain(SubmissionQueue sq) {
        // Acquire: the entries the host wrote before ringing the doorbell are visible.
        int tail = (int) U32.getAcquire(regs, sq.doorbell);
        if (tail != sq.tail) {
            if (tail < 0 || tail >= sq.size) {
                invalidDoorbells++;
                fail("SQ " + sq.id + " tail doorbell written with " + Integer.toUnsignedString(tail)
                        + ", outside the queue of " + sq.size + " entries");
                return true;
            }
            sq.tail = tail;
        }
        int fetched = 0;
        CompletionQueue cq = sq.cq;
        while (fetched < BURST && sq.head != sq.tail && !fatal && !sq.deleted) {
            if (cq.free() == 0 && !refreshHead(cq)) {
                break; // the CQ is full: leave the commands in the SQ until the host releases entries
            }
            long offset = (long) sq.head << SQE_SHIFT;
            int head = sq.head + 1;
            sq.head = head == sq.size ? 0 : head;
            cmd.load(sq, sq.ring, offset);
            handle(cmd);
            fetched++;
        }
        return fetched > 0;
    }

    /**
     * Reads the CQ head doorbell and validates it. {@return whether the queue has a free slot now}
     */
    private boolean refreshHead(CompletionQueue cq) {
        // Acquire: the host consumed the entries before it released them.
        int h = (int) U32.getAcquire(regs, cq.doorbell);
        if (h != cq.head) {
            if (h < 0 || h >= cq.size) {
                invalidDoorbells++;
                fail("CQ " + cq.id + " head doorbell written with " + Integer.toUnsignedString(h)
                        + ", outside the queue of " + cq.size + " entries");
                return false;
            }
            int advance = Math.floorMod(h - cq.head, cq.size);
            if (advance > cq.posted()) {
                if (h != cq.rejectedHead) {
                    cq.rejectedHead = h;
                    reportDoorbellError(AsyncEvents.INFO_INVALID_DOORBELL_VALUE, cq.id, "CQ " + cq.id
                            + " head doorbell written with " + h + ", past the " + cq.posted()
                            + " entries posted from head " + cq.head);
                }
            } else {
                cq.head = h;
            }
        }
        return cq.free() > 0;
    }

    /** Looks for doorbell writes to queues that do not exist, and bad CQ heads, while nothing else happens. */
    private void checkIdleDoorbells() {
        for (int q = 0; q <= maxQueueId; q++) {
            checkAbsent(q, sqs[q] == null, sqTailDoorbell(q), "SQ");
            if (cqs[q] == null) {
                checkAbsent(q, true, cqHeadDoorbell(q), "CQ");
            } else {
                refreshHead(cqs[q]);
            }
        }
    }

    private void checkAbsent(int qid, boolean absent, long doorbell, String kind) {
        if (!absent) {
            return;
        }
        int v = (int) U32.getAcquire(regs, doorbell);
        if (v != 0) {
            U32.setRelease(regs, doorbell, 0);
            reportDoorbellError(AsyncEvents.INFO_INVALID_DOORBELL_REGISTER, qid, kind + " " + qid
                    + " doorbell written with " + Integer.toUnsignedString(v) + " but the queue does not exist");
        }
    }

    private void reportDoorbellError(int info, int qid, String what) {
        invalidDoorbells++;
        LOG.warn("mock NVMe controller: invalid doorbell write: {}", what);
        errorLog.add(qid, ErrorLog.NO_QUEUE, 0, 0, 0);
        events.post(AsyncEvents.encode(AsyncEvents.TYPE_ERROR, info, AdminCommands.LOG_ERROR));
    }

    SubmissionQueue submissionQueue(int qid) {
        return qid >= 0 && qid <= maxQueueId ? sqs[qid] : null;
    }

    CompletionQueue completionQueue(int qid) {
        return qid >= 0 && qid <= maxQueueId ? cqs[qid] : null;
    }

    boolean ioQueuesExist() {
        for (int q = 1; q <= maxQueueId; q++) {
            if (sqs[q] != null || cqs[q] != null) {
                return true;
            }
        }
        return false;
    }

    /** Creates I/O CQ {@code qid} (already validated by the admin command). {@return a status} */
    int createCq(int qid, int entries, long base, boolean interrupts, int vector) {
        MemorySegment ring;
        try {
            ring = engine().translate(base, (long) entries << Layout.CQE_SHIFT, true);
        } catch (IommuFaultException e) {
            return Status.DATA_TRANSFER_ERROR;
        }
        long doorbell = cqHeadDoorbell(qid);
        U32.setRelease(regs, doorbell, 0);
        cqs[qid] = new CompletionQueue(qid, entries, base, ring, interrupts, vector, doorbell);
        return Status.SUCCESS;
    }

    /** Creates I/O SQ {@code qid} posting to CQ {@code cqid} (validated). {@return a status} */
    int createSq(int qid, int entries, long base, int cqid) {
        MemorySegment ring;
        try {
            ring = engine().translate(base, (long) entries << SQE_SHIFT, false);
        } catch (IommuFaultException e) {
            return Status.DATA_TRANSFER_ERROR;
        }
        long doorbell = sqTailDoorbell(qid);
        U32.setRelease(regs, doorbell, 0);
        CompletionQueue cq = cqs[cqid];
        cq.submissionQueues++;
        sqs[qid] = new SubmissionQueue(qid, entries, base, ring, cq, doorbell);
        rebuildActive();
        return Status.SUCCESS;
    }

    /**
     * Delete I/O Submission Queue: commands the controller holds for it complete with "Command Aborted due to SQ
     * Deletion" (before the deletion's own completion when their CQ has room); commands the host submitted but the
     * controller never fetched are dropped without completion (implicitly aborted). {@return a status}
     */
    int deleteSq(int qid) {
        SubmissionQueue sq = qid == 0 ? null : submissionQueue(qid);
        if (sq == null) {
            return Status.INVALID_QUEUE_IDENTIFIER;
        }
        for (int i = 0; i < held.size(); i++) {
            HeldCommand h = held.get(i);
            if (h.sq == sq) {
                h.dropped = false;
                h.due = Long.MIN_VALUE;
                h.status = Status.ABORTED_SQ_DELETION;
                h.result = 0;
                h.corruption = null;
            }
        }
        processHeld(false);
        sq.deleted = true;
        sq.cq.submissionQueues--;
        sqs[qid] = null;
        U32.setRelease(regs, sq.doorbell, 0);
        rebuildActive();
        return Status.SUCCESS;
    }

    /** Delete I/O Completion Queue; refused while a submission queue posts to it. {@return a status} */
    int deleteCq(int qid) {
        CompletionQueue cq = qid == 0 ? null : completionQueue(qid);
        if (cq == null) {
            return Status.INVALID_QUEUE_IDENTIFIER;
        }
        if (cq.submissionQueues > 0) {
            return Status.INVALID_QUEUE_DELETION;
        }
        cq.deleted = true;
        cqs[qid] = null;
        U32.setRelease(regs, cq.doorbell, 0);
        held.removeIf(h -> h.sq.cq == cq);
        publishHeld();
        return Status.SUCCESS;
    }

    private void rebuildActive() {
        int n = 0;
        for (SubmissionQueue s : sqs) {
            if (s != null) {
                n++;
            }
        }
        SubmissionQueue[] a = new SubmissionQueue[n];
        n = 0;
        for (SubmissionQueue s : sqs) {
            if (s != null) {
                a[n++] = s;
            }
        }
        active = a;
    }

    // =====================================================================================================
    // Commands
    // =====================================================================================================

    DmaEngine engine() {
        return dma();
    }

    NamespaceState namespace(int nsid) {
        return nsid >= 1 && nsid <= namespaces.length ? namespaces[nsid - 1] : null;
    }

    int namespaceCount() {
        return namespaces.length;
    }

    /** {@return the largest data transfer in bytes (MDTS), 0 for no limit} */
    long maxTransferBytes() {
        return maxTransfer;
    }

    long powerOnHours() {
        return (System.nanoTime() - createdNanos) / 3_600_000_000_000L;
    }

    private void handle(Command c) {
        boolean adminQueue = c.sq.id == 0;
        AtomicLongArray received = adminQueue ? adminReceived : ioReceived;
        // Single writer (this thread): a release store of the incremented value, readers use a volatile get.
        received.setRelease(c.opcode, received.getPlain(c.opcode) + 1);
        if (recordCapacity > 0) {
            record(c.view());
        }
        FaultRule[] rs = rules;
        if (rs.length != 0 && applyRules(c, rs)) {
            return;
        }
        execute(c, null);
    }

    private void execute(Command c, CompletionCorruption corruption) {
        int status;
        try {
            status = c.sq.id == 0 ? admin.execute(c) : io.execute(c);
        } catch (IommuFaultException e) {
            status = Status.DATA_TRANSFER_ERROR;
        } catch (IllegalStateException e) {
            throw e; // a ring view was unmapped: handled by process()
        } catch (RuntimeException e) {
            LOG.error("mock NVMe controller: internal error executing opcode 0x{} on SQ {}",
                    Integer.toHexString(c.opcode), c.sq.id, e);
            status = Status.INTERNAL_ERROR;
        }
        if (status == Status.NO_COMPLETION) {
            return;
        }
        complete(c.sq, c, null, c.cid, c.opcode, c.nsid, c.errorLba, status, c.result, corruption);
    }

    /**
     * Completes a command: logs an error entry for failures, then posts, or holds the completion if the CQ is
     * full.
     */
    private void complete(SubmissionQueue sq, Command source, CommandView view, int cid, int opcode, int nsid,
                          long lba, int status, int result, CompletionCorruption corruption) {
        CompletionQueue cq = sq.cq;
        if (cq.deleted) {
            return;
        }
        if (Status.logged(status)) {
            errorLog.add(sq.id, cid, status | cq.phase, lba, nsid);
            if (Status.mediaError(status)) {
                mediaErrors++;
            }
        }
        if (!post(sq, cid, opcode, status, result, corruption)
                || (corruption == CompletionCorruption.DUPLICATE && !post(sq, cid, opcode, status, result, null))) {
            CommandView v = view != null ? view : source != null ? source.view() : null;
            held.add(new HeldCommand(sq, v, cid, opcode, nsid, lba, status, result));
            publishHeld();
        }
    }

    /** Writes one completion entry if the CQ has room. {@return false if it is full} */
    private boolean post(SubmissionQueue sq, int cid, int opcode, int status, int result,
                         CompletionCorruption corruption) {
        CompletionQueue cq = sq.cq;
        if (cq.free() == 0 && !refreshHead(cq)) {
            return false;
        }
        int sqHead = sq.head;
        int sqId = sq.id;
        int outCid = cid;
        boolean badPhase = false;
        if (corruption != null) {
            switch (corruption) {
                case BAD_COMMAND_ID -> outCid = unusedCommandId(sq, cid);
                case BAD_SQ_HEAD -> sqHead = Math.min(sq.size, 0xffff);
                case BAD_SQ_ID -> sqId = 0xffff;
                case WRONG_PHASE -> badPhase = true;
                case DUPLICATE -> { }
            }
        }
        cq.write(result, sqHead, sqId, outCid, status, badPhase);
        AtomicLongArray completed = sq.id == 0 ? adminCompleted : ioCompleted;
        completed.setRelease(opcode, completed.getPlain(opcode) + 1);
        if (cq.interruptsEnabled && !cq.interruptPending) {
            if (interruptCount == interruptQueue.length) {
                raiseInterrupts(); // queues deleted and re-created within one pass: never overflow the list
            }
            cq.interruptPending = true;
            interruptQueue[interruptCount++] = cq;
        }
        return true;
    }

    /** {@return a command ID that is not outstanding on {@code sq} and is not {@code cid}} */
    private int unusedCommandId(SubmissionQueue sq, int cid) {
        int candidate = (cid + 0x5a5a) & 0xffff;
        while (candidate == cid || isOutstanding(sq, candidate)) {
            candidate = (candidate + 1) & 0xffff;
        }
        return candidate;
    }

    private boolean isOutstanding(SubmissionQueue sq, int cid) {
        for (HeldCommand h : held) {
            if (h.sq == sq && h.cid == cid) {
                return true;
            }
        }
        return sq.id == 0 && events.isOutstanding(cid);
    }

    /** Raises the MSI-X vector of every CQ that got completions in this pass: one interrupt per CQ per pass. */
    private void raiseInterrupts() {
        for (int i = 0; i < interruptCount; i++) {
            CompletionQueue cq = interruptQueue[i];
            interruptQueue[i] = null;
            cq.interruptPending = false;
            if (!cq.deleted) {
                raiseInterrupt(cq.vector);
                interruptsRaised++;
            }
        }
        interruptCount = 0;
    }

    private boolean deliverEvents() {
        boolean did = false;
        SubmissionQueue asq = sqs[0];
        int i;
        while ((i = events.reportable()) >= 0) {
            if (asq.cq.free() == 0 && !refreshHead(asq.cq)) {
                break;
            }
            int event = events.take(i);
            int cid = events.takeRequest();
            complete(asq, null, null, cid, AdminCommands.ASYNC_EVENT, 0, 0, Status.SUCCESS, event, null);
            did = true;
        }
        return did;
    }

    // ---- Held commands ----

    /**
     * Posts the held completions that are due and have room; with {@code executeDue}, also executes delayed
     * commands that are due. Called without it from inside a command (Abort, Delete SQ), where the shared
     * {@link Command} is in use.
     */
    private boolean processHeld(boolean executeDue) {
        long now = System.nanoTime();
        boolean did = false;
        boolean changed = false;
        for (int i = 0; i < held.size() && !fatal; ) {
            HeldCommand h = held.get(i);
            CompletionQueue cq = h.sq.cq;
            if (cq.deleted) {
                held.remove(i);
                changed = true;
                continue;
            }
            if (!h.isDue(now) || (h.status < 0 && !executeDue) || (cq.free() == 0 && !refreshHead(cq))) {
                i++;
                continue;
            }
            held.remove(i);
            changed = true;
            did = true;
            if (h.status >= 0) {
                complete(h.sq, null, h.view, h.cid, h.opcode, h.nsid, h.lba, h.status, h.result, h.corruption);
            } else {
                cmd.load(h.sq, h.sqe, 0);
                execute(cmd, h.corruption);
            }
        }
        if (changed) {
            publishHeld();
        }
        return did;
    }

    /**
     * Abort: if the controller holds command {@code cid} of SQ {@code sqid}, it completes with "Command Abort
     * Requested". {@return whether it was aborted}
     */
    boolean abort(int sqid, int cid) {
        for (HeldCommand h : held) {
            if (h.sq.id == sqid && h.cid == cid && !h.sq.deleted) {
                h.dropped = false;
                h.due = Long.MIN_VALUE;
                h.status = Status.ABORT_REQUESTED;
                h.result = 0;
                h.corruption = null;
                processHeld(false);
                return true;
            }
        }
        return false;
    }

    private boolean applyRules(Command c, FaultRule[] rs) {
        CommandView view = c.view();
        FaultRule status = null;
        FaultRule drop = null;
        FaultRule delay = null;
        FaultRule corrupt = null;
        boolean prune = false;
        for (FaultRule r : rs) {
            switch (r.action()) {
                case STATUS -> status = status == null && r.tryApply(view) ? r : status;
                case DROP -> drop = drop == null && r.tryApply(view) ? r : drop;
                case DELAY -> delay = delay == null && r.tryApply(view) ? r : delay;
                case CORRUPT -> corrupt = corrupt == null && r.tryApply(view) ? r : corrupt;
            }
            prune |= !r.isActive();
        }
        if (prune) {
            pruneRules();
        }
        if (status == null && drop == null && delay == null && corrupt == null) {
            return false;
        }
        CompletionCorruption corruption = corrupt == null ? null : corrupt.corruption();
        if (drop != null || delay != null) {
            HeldCommand h = new HeldCommand(c, view);
            h.dropped = drop != null;
            h.due = System.nanoTime() + (delay == null ? 0 : delay.delayNanos());
            if (status != null) {
                h.status = status.injectedStatus();
            }
            h.corruption = corruption;
            held.add(h);
            publishHeld();
            LOG.debug("mock NVMe controller holds {} ({})", view, drop != null ? "dropped" : "delayed");
            return true;
        }
        if (status != null) {
            complete(c.sq, c, view, c.cid, c.opcode, c.nsid, view.slba(), status.injectedStatus(), 0, corruption);
            return true;
        }
        execute(c, corruption);
        return true;
    }

    private void publishHeld() {
        if (held.isEmpty()) {
            heldViews = List.of();
            return;
        }
        List<CommandView> views = new ArrayList<>(held.size());
        for (HeldCommand h : held) {
            if (h.view != null) {
                views.add(h.view);
            }
        }
        heldViews = List.copyOf(views);
    }

    private void record(CommandView v) {
        synchronized (recorded) {
            while (recorded.size() >= recordCapacity && !recorded.isEmpty()) {
                recorded.removeFirst();
            }
            recorded.addLast(v);
        }
    }

    // =====================================================================================================
    // Fault injection (any thread)
    // =====================================================================================================

    private FaultRule addRule(FaultRule r) {
        synchronized (ruleLock) {
            FaultRule[] old = rules;
            FaultRule[] next = java.util.Arrays.copyOf(old, old.length + 1);
            next[old.length] = r;
            rules = next;
        }
        return r;
    }

    private void pruneRules() {
        synchronized (ruleLock) {
            rules = java.util.Arrays.stream(rules).filter(FaultRule::isActive).toArray(FaultRule[]::new);
        }
    }

    /**
     * Completes the next {@code count} matching commands with {@code status} instead of executing them (a failed
     * Write changes no data). The failure is logged in the Error Information log; media errors (SCT 2) count in
     * the SMART log.
     *
     * @param match  which commands, e.g. {@code CommandView.io(0x02)}
     * @param status a named error status (not SUCCESS or UNKNOWN)
     * @param dnr    whether to set Do Not Retry
     * @param count  how many commands, or {@link FaultRule#UNLIMITED}
     * @return the rule, for its hit count and to cancel it
     * @throws IllegalArgumentException if the status is SUCCESS or UNKNOWN, or the count is invalid
     */
    public FaultRule injectStatus(Predicate<? super CommandView> match, NvmeStatus status, boolean dnr, int count) {
        Objects.requireNonNull(status, "status");
        if (status == NvmeStatus.SUCCESS || status == NvmeStatus.UNKNOWN) {
            throw new IllegalArgumentException("cannot inject " + status + ": name an error status (or use the "
                    + "raw SCT/SC form)");
        }
        return addRule(FaultRule.status(match, status.sct(), status.sc(), dnr, count));
    }

    /** As {@link #injectStatus(Predicate, NvmeStatus, boolean, int)}, with a raw status code type and code. */
    public FaultRule injectStatus(Predicate<? super CommandView> match, int sct, int sc, boolean dnr, int count) {
        return addRule(FaultRule.status(match, sct, sc, dnr, count));
    }

    /**
     * Never completes the next {@code count} matching commands (the driver's timeout path): they are held until
     * aborted (Abort completes them with ABORT_REQUESTED), their SQ is deleted (ABORTED_SQ_DELETION), or the
     * controller is reset (discarded). They appear in {@link #heldCommands()}.
     */
    public FaultRule dropCommands(Predicate<? super CommandView> match, int count) {
        return addRule(FaultRule.drop(match, count));
    }

    /**
     * Executes the next {@code count} matching commands only after {@code delay} (measured from when the controller
     * fetched them); meanwhile they are held (abortable, listed in {@link #heldCommands()}). Other commands keep
     * completing in the meantime, so completions come out of order.
     */
    public FaultRule delayCommands(Predicate<? super CommandView> match, Duration delay, int count) {
        return addRule(FaultRule.delay(match, delay.toNanos(), count));
    }

    /** Executes the next {@code count} matching commands normally but posts corrupted completion entries. */
    public FaultRule corruptCompletions(Predicate<? super CommandView> match, CompletionCorruption kind, int count) {
        return addRule(FaultRule.corrupt(match, kind, count));
    }

    /** Cancels every fault rule. Commands already held stay held. */
    public void clearFaultRules() {
        synchronized (ruleLock) {
            for (FaultRule r : rules) {
                r.cancel();
            }
            rules = new FaultRule[0];
        }
    }

    /** {@return the fault rules still active} */
    public List<FaultRule> faultRules() {
        return java.util.Arrays.stream(rules).filter(FaultRule::isActive).toList();
    }

    /**
     * Controller fatal status, as when the silicon hits an internal error: CSTS.CFS reads 1 at once (before this
     * returns); the controller completes nothing more until the host resets it (CC.EN 1→0), which clears CFS.
     */
    public void fatal(String reason) {
        Objects.requireNonNull(reason, "reason");
        fatalRequest = "injected: " + reason;
        U32.getAndBitwiseOrRelease(regs, REG_CSTS, CSTS_CFS);
    }

    /** {@link #fatal(String)} with a generic reason. */
    public void fatal() {
        fatal("fault injection");
    }

    /**
     * Queues an asynchronous event. It completes an outstanding Asynchronous Event Request with DW0 = type [2:0],
     * info [15:8], log page [23:16] when one is outstanding and the event's type is not masked (a type is masked
     * after it is reported, until the host reads {@code logPage} without setting Retain Asynchronous Event).
     *
     * @param type    event type, 0..7 (0 error, 1 SMART/health, 2 notice, 6 I/O command specific, 7 vendor)
     * @param info    asynchronous event information, 0..255
     * @param logPage the log page the host should read, 0..255
     */
    public void postAsyncEvent(int type, int info, int logPage) {
        if (type < 0 || type > 7 || info < 0 || info > 255 || logPage < 0 || logPage > 255) {
            throw new IllegalArgumentException("asynchronous event type " + type + " (0..7), info " + info
                    + " (0..255), log page " + logPage + " (0..255)");
        }
        injectedEvents.add(AsyncEvents.encode(type, info, logPage));
    }

    // =====================================================================================================
    // Statistics and inspection (any thread)
    // =====================================================================================================

    /** {@return admin commands with {@code opcode} fetched so far (all controller lifetimes)} */
    public long adminCommandsReceived(int opcode) {
        return adminReceived.get(opcode & 0xff);
    }

    /** {@return admin completions posted for {@code opcode} (a DUPLICATE corruption counts twice)} */
    public long adminCommandsCompleted(int opcode) {
        return adminCompleted.get(opcode & 0xff);
    }

    /** {@return I/O commands with {@code opcode} fetched so far, over all I/O queues} */
    public long ioCommandsReceived(int opcode) {
        return ioReceived.get(opcode & 0xff);
    }

    /** {@return I/O completions posted for {@code opcode}} */
    public long ioCommandsCompleted(int opcode) {
        return ioCompleted.get(opcode & 0xff);
    }

    /** {@return controller resets done (CC.EN 1→0)} */
    public int controllerResets() {
        return controllerResets;
    }

    /** {@return function-level resets done (PCI FLR or {@code PciDevice.reset()})} */
    public int functionLevelResets() {
        return functionLevelResets;
    }

    /** {@return completed shutdowns (CSTS.SHST reached 2)} */
    public int shutdowns() {
        return shutdowns;
    }

    /**
     * {@return the IDs of the I/O queues (submission or completion) that still existed when the host last requested
     * a shutdown (CC.SHN), empty if none did or no shutdown was requested} NVMe 1.4 section 7.6.2 asks the host to
     * delete its I/O queues first.
     */
    public List<Integer> ioQueuesAtShutdown() {
        return ioQueuesAtShutdown;
    }

    /** {@return MSI-X interrupts the controller raised (at most one per completion queue per processing pass)} */
    public long interruptsRaised() {
        return interruptsRaised;
    }

    /** {@return invalid doorbell writes detected (fatal and non-fatal)} */
    public long invalidDoorbellWrites() {
        return invalidDoorbells;
    }

    /** {@return the commands the controller holds now (delayed, dropped, or waiting for CQ room), oldest first} */
    public List<CommandView> heldCommands() {
        return heldViews;
    }

    /** {@return the number of Asynchronous Event Requests the controller holds now} */
    public int outstandingAsyncEventRequests() {
        return events.outstanding();
    }

    /** {@return why CSTS.CFS is set, or null if it is not} */
    public String fatalReason() {
        return fatalReason != null ? fatalReason : fatalRequest;
    }

    /** {@return whether CSTS.RDY is set} */
    public boolean isReady() {
        return ((int) U32.getAcquire(regs, REG_CSTS) & CSTS_RDY) != 0;
    }

    /**
     * Records every command fetched from now on (the last {@code capacity}, oldest dropped), or stops recording
     * with 0. Recording allocates a {@link CommandView} per command: keep it off in benchmarks.
     */
    public void recordCommands(int capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("record capacity must not be negative, was " + capacity);
        }
        synchronized (recorded) {
            recordCapacity = capacity;
            if (capacity == 0) {
                recorded.clear();
            }
        }
    }

    /** {@return the recorded commands, oldest first} */
    public List<CommandView> recordedCommands() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    /**
     * {@return {@code count} blocks of namespace {@code nsid} from LBA {@code lba}, read from the medium directly}
     * Not ordered against commands in flight: read after their completions were observed.
     *
     * @throws IllegalArgumentException if the namespace does not exist or the range is outside it
     */
    public byte[] readBlocks(int nsid, long lba, int count) {
        NamespaceState ns = checkedRange(nsid, lba, count);
        byte[] data = new byte[Math.toIntExact((long) count << ns.lbaShift)];
        ns.store.copyOut(lba << ns.lbaShift, MemorySegment.ofArray(data));
        return data;
    }

    /**
     * Writes whole blocks of namespace {@code nsid} from LBA {@code lba} on the medium directly (preloading data for
     * a test). Not ordered against commands in flight.
     *
     * @throws IllegalArgumentException if the namespace does not exist, the data is not whole blocks, or the range
     *                                  is outside the namespace
     */
    public void writeBlocks(int nsid, long lba, byte[] data) {
        NamespaceState ns = namespace(nsid);
        if (ns == null) {
            throw new IllegalArgumentException("namespace " + nsid + " does not exist (1.." + namespaces.length + ")");
        }
        if (data.length == 0 || (data.length & ((1 << ns.lbaShift) - 1)) != 0) {
            throw new IllegalArgumentException(data.length + " bytes are not whole " + (1 << ns.lbaShift)
                    + "-byte blocks");
        }
        checkedRange(nsid, lba, data.length >>> ns.lbaShift);
        ns.store.copyIn(lba << ns.lbaShift, MemorySegment.ofArray(data));
    }

    /** {@return bytes of RAM (or file) holding data for namespace {@code nsid}: sparse stores grow on write} */
    public long allocatedBytes(int nsid) {
        NamespaceState ns = checkedRange(nsid, 0, 1);
        return ns.store.allocatedBytes();
    }

    private NamespaceState checkedRange(int nsid, long lba, int count) {
        NamespaceState ns = namespace(nsid);
        if (ns == null) {
            throw new IllegalArgumentException("namespace " + nsid + " does not exist (1.." + namespaces.length + ")");
        }
        if (count < 1 || lba < 0 || lba >= ns.blocks || ns.blocks - lba < count) {
            throw new IllegalArgumentException("blocks [" + lba + ", " + lba + " + " + count + ") are outside "
                    + "namespace " + nsid + " of " + ns.blocks + " blocks");
        }
        return ns;
    }

    @Override
    public String toString() {
        return "MockNvmeController[" + config.serial().trim() + ", " + namespaces.length + " namespace(s), "
                + (ready ? "ready" : "not ready") + (fatal ? ", fatal" : "") + "]";
    }

    // =====================================================================================================
    // Configuration
    // =====================================================================================================

    /**
     * One namespace: its size and LBA data size, backed by sparse RAM ({@code file == null}) or by a file (created
     * or extended to {@code blocks * lbaSize} bytes, mapped; data persists).
     *
     * @param blocks  size in logical blocks (NSZE), at least 1
     * @param lbaSize 512 or 4096 bytes
     * @param file    backing file, or null for RAM
     *
     * <p>Invariants: {@code lbaSize} is 512 or 4096; {@code blocks * lbaSize} is at most 1 PiB.
     */
    public record Namespace(long blocks, int lbaSize, Path file) {
        private static final long MAX_NAMESPACE_BYTES = 1L << 50;

        public Namespace {
            if (lbaSize != 512 && lbaSize != 4096) {
                throw new IllegalArgumentException("LBA data size " + lbaSize + " is not 512 or 4096");
            }
            if (blocks < 1 || blocks > MAX_NAMESPACE_BYTES / lbaSize) {
                throw new IllegalArgumentException("namespace size " + blocks + " blocks of " + lbaSize
                        + " bytes is not 1 block .. 1 PiB");
            }
        }
    }

    /**
     * The NVMe-level configuration of a {@link MockNvmeController}. Build with {@link #builder()}; every setter
     * validates its argument and names the limit it violates.
     *
     * <p>Invariants: at least one namespace; every value is within the limits its builder method documents.
     */
    public static final class Config {
        private final List<Namespace> namespaces;
        private final int mqes;
        private final int mdts;
        private final int maxIoQueuePairs;
        private final int msixVectors;
        private final int doorbellStride;
        private final int timeout;
        private final int mpsMax;
        private final int mpsMin;
        private final boolean nvmCommandSet;
        private final boolean fatalOnEnable;
        private final Duration readyDelay;
        private final int readyDelaySteps;
        private final Duration shutdownDelay;
        private final String serial;
        private final String model;
        private final String firmware;
        private final boolean nullMode;
        private final int oncs;
        private final boolean volatileWriteCache;
        private final int abortLimit;
        private final int asyncEventLimit;
        private final int errorLogEntries;
        private final int controllerId;

        private Config(Builder b) {
            this.namespaces = b.namespaces.isEmpty() ? List.of(new Namespace(1L << 21, 512, null))
                    : List.copyOf(b.namespaces);
            this.mqes = b.mqes;
            this.mdts = b.mdts;
            this.maxIoQueuePairs = b.maxIoQueuePairs;
            this.msixVectors = b.msixVectors > 0 ? b.msixVectors : Math.min(2048, b.maxIoQueuePairs + 1);
            this.doorbellStride = b.doorbellStride;
            this.timeout = b.timeout;
            this.mpsMax = b.mpsMax;
            this.mpsMin = b.mpsMin;
            this.nvmCommandSet = b.nvmCommandSet;
            this.fatalOnEnable = b.fatalOnEnable;
            this.readyDelay = b.readyDelay;
            this.readyDelaySteps = b.readyDelaySteps;
            this.shutdownDelay = b.shutdownDelay;
            this.serial = b.serial;
            this.model = b.model;
            this.firmware = b.firmware;
            this.nullMode = b.nullMode;
            this.oncs = (b.dsm ? Nvme.NVME_ONCS_DSM() : 0) | (b.writeZeroes ? Nvme.NVME_ONCS_WRITE_ZEROES() : 0);
            this.volatileWriteCache = b.volatileWriteCache;
            this.abortLimit = b.abortLimit;
            this.asyncEventLimit = b.asyncEventLimit;
            this.errorLogEntries = b.errorLogEntries;
            this.controllerId = b.controllerId;
        }

        /** {@return a builder with the defaults} */
        public static Builder builder() {
            return new Builder();
        }

        /** {@return the namespaces; NSID {@code i + 1} is element {@code i}} */
        public List<Namespace> namespaces() {
            return namespaces;
        }

        /** {@return CAP.MQES: maximum queue entries minus one} */
        public int mqes() {
            return mqes;
        }

        /** {@return Identify MDTS: largest transfer is 2^mdts × 4 KiB; 0 = no limit} */
        public int mdts() {
            return mdts;
        }

        /** {@return the most I/O submission (and completion) queues Set Features Number of Queues grants} */
        public int maxIoQueuePairs() {
            return maxIoQueuePairs;
        }

        /** {@return MSI-X vectors of the function} */
        public int msixVectors() {
            return msixVectors;
        }

        /** {@return CAP.DSTRD} */
        public int doorbellStride() {
            return doorbellStride;
        }

        /** {@return CAP.TO in 500 ms units} */
        public int timeout() {
            return timeout;
        }

        /** {@return CAP.MPSMAX} */
        public int mpsMax() {
            return mpsMax;
        }

        /** {@return CAP.MPSMIN} */
        public int mpsMin() {
            return mpsMin;
        }

        /** {@return whether CAP.CSS reports the NVM command set (otherwise only "no I/O command set")} */
        public boolean nvmCommandSet() {
            return nvmCommandSet;
        }

        /** {@return whether the controller sets CSTS.CFS instead of CSTS.RDY whenever it is enabled} */
        public boolean fatalOnEnable() {
            return fatalOnEnable;
        }

        /** {@return the least time from CC.EN=1 to CSTS.RDY=1} */
        public Duration readyDelay() {
            return readyDelay;
        }

        /** {@return processing passes after the one that sees CC.EN=1 before CSTS.RDY=1 is set in the next} */
        public int readyDelaySteps() {
            return readyDelaySteps;
        }

        /** {@return the time CSTS.SHST stays at 1 (shutdown processing) before 2 (complete)} */
        public Duration shutdownDelay() {
            return shutdownDelay;
        }

        public String serial() {
            return serial;
        }

        public String model() {
            return model;
        }

        public String firmware() {
            return firmware;
        }

        /** {@return whether Read and Write skip their data transfer (for benchmarks of the driver alone)} */
        public boolean nullMode() {
            return nullMode;
        }

        /** {@return the Identify ONCS bits: Dataset Management (bit 2) and Write Zeroes (bit 3) as configured} */
        public int oncs() {
            return oncs;
        }

        public boolean volatileWriteCache() {
            return volatileWriteCache;
        }

        /** {@return concurrent Abort commands (Identify ACL + 1)} */
        public int abortLimit() {
            return abortLimit;
        }

        /** {@return concurrent Asynchronous Event Requests (Identify AERL + 1)} */
        public int asyncEventLimit() {
            return asyncEventLimit;
        }

        /** {@return Error Information log entries kept (Identify ELPE + 1)} */
        public int errorLogEntries() {
            return errorLogEntries;
        }

        /** {@return Identify CNTLID} */
        public int controllerId() {
            return controllerId;
        }

        /** Builds a {@link Config}; defaults are listed on each method. */
        public static final class Builder {
            private final List<Namespace> namespaces = new ArrayList<>();
            private int mqes = 1023;
            private int mdts = 5;
            private int maxIoQueuePairs = 8;
            private int msixVectors;
            private int doorbellStride;
            private int timeout = 20;
            private int mpsMax = 4;
            private int mpsMin;
            private boolean nvmCommandSet = true;
            private boolean fatalOnEnable;
            private Duration readyDelay = Duration.ZERO;
            private int readyDelaySteps;
            private Duration shutdownDelay = Duration.ZERO;
            private String serial = "FERRUM-MOCK-0001";
            private String model = "Ferrum mock NVMe controller";
            private String firmware = "0.1.0";
            private boolean nullMode;
            private boolean dsm = true;
            private boolean writeZeroes = true;
            private boolean volatileWriteCache = true;
            private int abortLimit = 4;
            private int asyncEventLimit = 4;
            private int errorLogEntries = 64;
            private int controllerId = 1;

            private Builder() {}

            private static int range(String what, int v, int min, int max) {
                if (v < min || v > max) {
                    throw new IllegalArgumentException(what + " " + v + " is not in " + min + ".." + max);
                }
                return v;
            }

            private static String ascii(String what, String v, int max) {
                Objects.requireNonNull(v, what);
                if (v.isEmpty() || v.length() > max || !StandardCharsets.US_ASCII.newEncoder().canEncode(v)
                        || v.chars().anyMatch(ch -> ch < 0x20 || ch > 0x7e)) {
                    throw new IllegalArgumentException(what + " '" + v + "' is not 1.." + max
                            + " printable ASCII characters");
                }
                return v;
            }

            /** Adds a RAM-backed namespace (sparse: memory grows as blocks are written). Default: one of 1 GiB. */
            public Builder namespace(long blocks, int lbaSize) {
                namespaces.add(new Namespace(blocks, lbaSize, null));
                return this;
            }

            /** Adds a file-backed namespace. */
            public Builder namespace(long blocks, int lbaSize, Path file) {
                namespaces.add(new Namespace(blocks, lbaSize, Objects.requireNonNull(file, "file")));
                return this;
            }

            /** Largest queue, in entries, 2..65536 (CAP.MQES = entries - 1). Default 1024. */
            public Builder maxQueueEntries(int entries) {
                mqes = range("maximum queue entries", entries, 2, 65536) - 1;
                return this;
            }

            /** Identify MDTS, 0..16: largest transfer 2^mdts × 4 KiB, 0 = unlimited. Default 5 (128 KiB). */
            public Builder mdts(int value) {
                mdts = range("MDTS", value, 0, 16);
                return this;
            }

            /** I/O queue pairs the controller can grant, 1..1024. Default 8. */
            public Builder maxIoQueuePairs(int pairs) {
                maxIoQueuePairs = range("I/O queue pairs", pairs, 1, 1024);
                return this;
            }

            /** MSI-X vectors, 1..2048. Default: I/O queue pairs + 1. */
            public Builder msixVectors(int vectors) {
                msixVectors = range("MSI-X vectors", vectors, 1, 2048);
                return this;
            }

            /** CAP.DSTRD, 0..8: doorbells {@code 4 << dstrd} bytes apart. Default 0. */
            public Builder doorbellStride(int dstrd) {
                doorbellStride = range("CAP.DSTRD", dstrd, 0, 8);
                return this;
            }

            /** CAP.TO in 500 ms units, 1..255. Default 20 (10 s). */
            public Builder timeout(int units) {
                timeout = range("CAP.TO", units, 1, 255);
                return this;
            }

            /** CAP.MPSMAX, 0..4 (4 KiB .. 64 KiB pages). Default 4. */
            public Builder mpsMax(int value) {
                mpsMax = range("CAP.MPSMAX", value, 0, 4);
                return this;
            }

            /** CAP.MPSMIN, 0..4 (4 KiB .. 64 KiB pages), at most MPSMAX. Default 0. */
            public Builder mpsMin(int value) {
                mpsMin = range("CAP.MPSMIN", value, 0, 4);
                return this;
            }

            /** Whether CAP.CSS reports the NVM command set; without it, only "no I/O command set". Default on. */
            public Builder nvmCommandSet(boolean supported) {
                nvmCommandSet = supported;
                return this;
            }

            /**
             * Fault injection at bring-up: every CC.EN 0→1 with a valid configuration sets CSTS.CFS (an internal
             * error) instead of CSTS.RDY. Default off.
             */
            public Builder fatalOnEnable(boolean enabled) {
                fatalOnEnable = enabled;
                return this;
            }

            /** Least time from CC.EN=1 to CSTS.RDY=1. Default 0. */
            public Builder readyDelay(Duration delay) {
                if (delay.isNegative()) {
                    throw new IllegalArgumentException("ready delay " + delay + " is negative");
                }
                readyDelay = delay;
                return this;
            }

            /**
             * Processing passes (steps) after the one that sees CC.EN=1 during which CSTS.RDY stays 0; RDY is set in
             * the pass after them (with 0, in the pass that sees CC.EN). 0..1000000. Default 0.
             */
            public Builder readyDelaySteps(int steps) {
                readyDelaySteps = range("ready delay steps", steps, 0, 1_000_000);
                return this;
            }

            /** Time CSTS.SHST stays 1 (shutdown processing) before 2. Default 0. */
            public Builder shutdownDelay(Duration delay) {
                if (delay.isNegative()) {
                    throw new IllegalArgumentException("shutdown delay " + delay + " is negative");
                }
                shutdownDelay = delay;
                return this;
            }

            /** Identify SN, 1..20 printable ASCII. */
            public Builder serial(String value) {
                serial = ascii("serial number", value, 20);
                return this;
            }

            /** Identify MN, 1..40 printable ASCII. */
            public Builder model(String value) {
                model = ascii("model number", value, 40);
                return this;
            }

            /** Identify FR, 1..8 printable ASCII. */
            public Builder firmware(String value) {
                firmware = ascii("firmware revision", value, 8);
                return this;
            }

            /** Null mode: Read and Write are validated but move no data (benchmarks). Default off. */
            public Builder nullMode(boolean enabled) {
                nullMode = enabled;
                return this;
            }

            /** Dataset Management support (ONCS bit 2). Default on. */
            public Builder datasetManagement(boolean supported) {
                dsm = supported;
                return this;
            }

            /** Write Zeroes support (ONCS bit 3). Default on. */
            public Builder writeZeroes(boolean supported) {
                writeZeroes = supported;
                return this;
            }

            /** Volatile write cache present (Identify VWC bit 0, feature 06h). Default on. */
            public Builder volatileWriteCache(boolean present) {
                volatileWriteCache = present;
                return this;
            }

            /** Concurrent Abort commands, 1..256 (Identify ACL + 1). Default 4. */
            public Builder abortLimit(int limit) {
                abortLimit = range("abort limit", limit, 1, 256);
                return this;
            }

            /** Concurrent Asynchronous Event Requests, 1..256 (Identify AERL + 1). Default 4. */
            public Builder asyncEventLimit(int limit) {
                asyncEventLimit = range("asynchronous event request limit", limit, 1, 256);
                return this;
            }

            /** Error Information log entries, 1..256 (Identify ELPE + 1). Default 64. */
            public Builder errorLogEntries(int entries) {
                errorLogEntries = range("error log entries", entries, 1, 256);
                return this;
            }

            /** Identify CNTLID, 0..0xFFEF. Default 1. */
            public Builder controllerId(int id) {
                controllerId = range("controller ID", id, 0, 0xffef);
                return this;
            }

            /** {@return the configuration} */
            public Config build() {
                if (namespaces.size() > 1024) {
                    throw new IllegalArgumentException(namespaces.size() + " namespaces: at most 1024");
                }
                if (mpsMin > mpsMax) {
                    throw new IllegalArgumentException("CAP.MPSMIN " + mpsMin + " is above CAP.MPSMAX " + mpsMax);
                }
                return new Config(this);
            }
        }
    }
}
