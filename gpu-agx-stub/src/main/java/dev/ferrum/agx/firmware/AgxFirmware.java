package dev.ferrum.agx.firmware;

import dev.ferrum.agx.internal.fw.ChannelLayout;
import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.DeviceControlMsg;
import dev.ferrum.agx.internal.fw.EventMsg;
import dev.ferrum.agx.internal.fw.InitDataLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.agx.internal.fw.PipeMsg;
import dev.ferrum.agx.internal.fw.QueueLayout;
import dev.ferrum.agx.internal.fw.Regs;
import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.DeviceModel;
import dev.ferrum.driver.mock.DmaEngine;
import dev.ferrum.driver.mock.IommuFaultException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A simulated AGX GPU firmware (the ASC coprocessor's firmware plus the GPU it drives), as a device model on the
 * mock PCI bus. It behaves like the real protocol in miniature:
 *
 * <ul>
 *   <li>On {@code CONTROL.RUN} it reads the {@link InitDataLayout init data} by DMA, validates it and sets
 *       {@code STATUS.READY}.</li>
 *   <li>When a doorbell changes it drains that channel's ring: device-control messages invalidate its TLB; pipe
 *       messages make a work queue runnable up to a write pointer.</li>
 *   <li>It executes runnable queues' commands in order (queues round-robin, a few commands per step): fill, copy and
 *       saxpy over GPU virtual addresses that it translates through the driver's page tables ({@link GpuMmu}).
 *       For each command it writes the result block, advances the queue's pointers, and then (last) the command's
 *       event stamp; then it posts a flag event naming the slots that fired and raises MSI-X vector 0. A fault
 *       is also reported as a fault event with the virtual address.</li>
 *   <li>A firmware structure it cannot reach (the IOMMU blocks it) or a malformed message crashes it: {@code
 *       STATUS.CRASHED}, a {@code CRASH_CODE}, MSI-X vector 1, and it does nothing more until reset.</li>
 * </ul>
 *
 * <p>Every access to host memory goes through {@link #dma()}; the firmware trusts nothing it reads (ring pointers,
 * sizes and slot numbers are range-checked; a bad one crashes it rather than indexing out of bounds).
 *
 * <p>Fault injection (any thread): {@link #crash()}, {@link #pause()}/{@link #resume()} (the firmware goes silent),
 * {@link #hangNextJobs(int)} (a job never finishes until the firmware's own watchdog kills it at the command's
 * timeout), and protocol misbehaviour for driver robustness tests ({@link #postEvent}, {@link #postRawEvent},
 * {@link #writeStamp}, {@link #corruptEventWritePointer}, {@link #corruptTransmitReadPointer},
 * {@link #corruptNextResult}, {@link #corruptNextQueuePointers}). Observation (any thread):
 * {@link #injectionsDone()}, {@link #executions(long)}, {@link #executedCommands()}, {@link #tlbInvalidations()},
 * {@link #isCachedTranslation(long)}.
 *
 * <p>Invariants: after writing a command's stamp the firmware touches none of that command's memory (the driver may
 * free it at once); the state below is touched only by {@code process()} and {@code reset()} (the model lock).
 */
public final class AgxFirmware extends DeviceModel {
    private static final Logger LOG = LoggerFactory.getLogger(AgxFirmware.class);
    /** Commands executed per {@code process()} call, across queues. */
    private static final int COMMANDS_PER_STEP = 8;

    private record Ring(String name, long state, long ring, int count) {}

    /** Handles one message of a transmit ring (copied out of DMA memory). */
    private interface MessageHandler {
        void handle(MemorySegment message) throws Malformed;
    }

    /** The firmware's view of one work queue. */
    private static final class FwQueue {
        final long info;
        final long ring;
        final int size;
        final int id;
        int rptr;
        int wptr;
        boolean runnable;
        boolean hung;
        long hungSince;
        long hungCommand;
        long hungJob;
        int hungSlot;
        int hungValue;
        int hungTimeoutMs;

        FwQueue(long info, long ring, int size, int id) {
            this.info = info;
            this.ring = ring;
            this.size = size;
            this.id = id;
        }
    }

    /** A result block to write instead of the true one (fault injection). */
    private record ResultOverride(int status, int flags, long address) {}

    /** Queue pointers to write instead of the true ones (fault injection). */
    private record PointerOverride(int rptr, int doneptr) {}

    /** A malformed message or init data: the firmware crashes with {@link #code}. */
    private static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;
        final int code;

        Malformed(int code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    // ---- Observation and injection: any thread ----
    private final Map<Long, AtomicInteger> executions = new ConcurrentHashMap<>();
    private final AtomicLong executed = new AtomicLong();
    private final AtomicLong tlbInvalidations = new AtomicLong();
    private final List<long[]> invalidations = new CopyOnWriteArrayList<>();
    private final AtomicInteger hangNext = new AtomicInteger();
    private final ConcurrentLinkedQueue<Runnable> misbehaviour = new ConcurrentLinkedQueue<>();
    private final AtomicLong injected = new AtomicLong();
    private final AtomicLong injectionsDone = new AtomicLong();
    private final ConcurrentLinkedQueue<ResultOverride> resultOverrides = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<PointerOverride> pointerOverrides = new ConcurrentLinkedQueue<>();
    private final Map<Long, Boolean> cachedSnapshot = new ConcurrentHashMap<>();
    private volatile boolean crashRequested;
    private volatile boolean paused;
    private volatile boolean bootedFlag;
    private volatile boolean crashedFlag;

    // ---- Firmware state: process() and reset() only ----
    private final GpuMmu mmu = new GpuMmu();
    private final Kernels kernels = new Kernels(mmu);
    private final MemorySegment msg = MemorySegment.ofArray(new long[(int) (ChannelLayout.MSG_SIZE / 8)]);
    private final MemorySegment cmd = MemorySegment.ofArray(new long[(int) (CommandLayout.SIZE / 8)]);
    private final MemorySegment init = MemorySegment.ofArray(new long[(int) (InitDataLayout.LAYOUT.byteSize() / 8)]);
    private final MemorySegment qinfo = MemorySegment.ofArray(new long[(int) (QueueLayout.INFO.byteSize() / 8)]);
    private final Map<Long, FwQueue> queues = new HashMap<>();
    private final ArrayDeque<FwQueue> runnable = new ArrayDeque<>();
    private final ArrayDeque<long[]> pendingEvents = new ArrayDeque<>();
    private final int[] fired = new int[EventMsg.FIRING_WORDS];
    private final int[] lastDoorbell = new int[Regs.TX_CHANNELS];
    private final int[] readPointers = new int[Regs.TX_CHANNELS];
    private final MessageHandler onDeviceControl = this::onDeviceControl;
    private final MessageHandler onPipe = this::onPipe;
    private boolean booted;
    private boolean crashed;
    private boolean initFailed;
    private Ring devctl;
    private Ring pipe;
    private Ring events;
    private int eventWptr;
    private long stamps;
    private int stampCount;
    private int eventVector;
    private int statusVector;

    /** {@return the PCI identity of the simulated GPU: Apple 106b:a6a0, BAR0 16 KiB, 2 MSI-X vectors} */
    public static DeviceConfig pciConfig() {
        return DeviceConfig.builder(Regs.VENDOR_APPLE, Regs.DEVICE_AGX, Regs.CLASS_GPU)
                .subsystem(Regs.VENDOR_APPLE, 0x0001)
                .bar(0, Regs.BAR0_SIZE)
                .msix(Regs.MSIX_VECTORS, 0, Regs.MSIX_TABLE, Regs.MSIX_PBA)
                .build();
    }

    public AgxFirmware() {
        super(pciConfig());
        reset();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Injection and observation
    // ---------------------------------------------------------------------------------------------------------

    /** Makes the firmware crash at its next step (an assertion failure inside the firmware). */
    public void crash() {
        crashRequested = true;
    }

    /**
     * Freezes the firmware: it stops reading channels and running jobs (and does not time them out). When this
     * returns, a step that was running has finished: nothing submitted afterwards runs until {@link #resume()}.
     */
    public void pause() {
        // Under the model lock: a step already past its paused check would otherwise still drain the channels and
        // run a job the caller submits right after pause() returns.
        betweenSteps(() -> paused = true);
    }

    /** Undoes {@link #pause()}. */
    public void resume() {
        paused = false;
    }

    /**
     * Makes the next {@code count} commands the firmware starts hang: they never finish by themselves; the
     * firmware's watchdog kills each when its {@code timeout_ms} has passed and reports a timeout.
     */
    public void hangNextJobs(int count) {
        hangNext.addAndGet(count);
    }

    /**
     * Misbehaviour: posts an event message with these fields, stamp value and flags 0 (for testing that the driver
     * validates events). {@link #postRawEvent} sets every byte.
     *
     * @param firing the flag bitmap words (up to 4; missing words are 0)
     */
    public void postEvent(int type, int slot, long jobId, long address, int... firing) {
        long[] m = eventMessage(type, slot, jobId, address, 0, 0);
        MemorySegment s = MemorySegment.ofArray(m);
        for (int i = 0; i < Math.min(firing.length, EventMsg.FIRING_WORDS); i++) {
            Le.INT.set(s, EventMsg.FIRING + 4L * i, firing[i]);
        }
        inject(() -> pendingEvents.add(m));
    }

    /**
     * Misbehaviour: posts {@code message} as it is, all 64 bytes of it (type, slot, job ID, address, stamp value,
     * flags, bitmap and the reserved tail; layout in {@code internal/fw/EventMsg}), on the event channel.
     *
     * @throws IllegalArgumentException if {@code message} is not exactly one 64-byte channel message
     */
    public void postRawEvent(byte[] message) {
        Objects.requireNonNull(message, "message");
        if (message.length != ChannelLayout.MSG_SIZE) {
            throw new IllegalArgumentException("an event message is " + ChannelLayout.MSG_SIZE + " bytes, not "
                    + message.length);
        }
        long[] m = new long[(int) (ChannelLayout.MSG_SIZE / 8)];
        MemorySegment.copy(MemorySegment.ofArray(message), 0, MemorySegment.ofArray(m), 0, ChannelLayout.MSG_SIZE);
        inject(() -> pendingEvents.add(m));
    }

    /**
     * Misbehaviour: the next command the firmware completes (or kills at its timeout) gets this result block
     * instead of the true one; the command itself runs normally and its stamp advances as usual. Calls queue up:
     * each applies to one command, in order.
     *
     * @param status       the result status (any value: known codes are in {@code internal/fw/CommandLayout})
     * @param flags        the fault flags
     * @param faultAddress the fault address
     */
    public void corruptNextResult(int status, int flags, long faultAddress) {
        resultOverrides.add(new ResultOverride(status, flags, faultAddress));
    }

    /**
     * Misbehaviour: when the firmware next completes a command, it writes these values as the queue's
     * {@code gpu_rptr} and {@code gpu_doneptr} instead of the true ones (its own position stays right). Calls
     * queue up: each applies to one completion, in order.
     */
    public void corruptNextQueuePointers(int rptr, int doneptr) {
        pointerOverrides.add(new PointerOverride(rptr, doneptr));
    }

    /**
     * Misbehaviour: writes {@code value} as the read pointer of a transmit channel (what the firmware claims to have
     * consumed) at its next step. Its own position is unchanged: the next message it consumes there writes the true
     * read pointer again.
     *
     * @param channel {@code 0} (device control) or {@code 1} (pipe)
     * @throws IllegalArgumentException if {@code channel} is neither
     */
    public void corruptTransmitReadPointer(int channel, int value) {
        if (channel != Regs.CH_DEVICE_CONTROL && channel != Regs.CH_PIPE) {
            throw new IllegalArgumentException("transmit channel " + channel + " is neither "
                    + Regs.CH_DEVICE_CONTROL + " (device control) nor " + Regs.CH_PIPE + " (pipe)");
        }
        inject(() -> dma().writeInt((channel == Regs.CH_PIPE ? pipe : devctl).state() + ChannelLayout.RPTR, value));
    }

    /**
     * Misbehaviour: writes {@code value} into stamp {@code slot} and flags the slot as fired.
     *
     * @throws IllegalArgumentException if {@code slot} is not one of the 128 stamp slots
     */
    public void writeStamp(int slot, int value) {
        if (slot < 0 || slot >= InitDataLayout.STAMPS) {
            throw new IllegalArgumentException("stamp slot " + slot + " is not 0.." + (InitDataLayout.STAMPS - 1));
        }
        inject(() -> {
            dma().writeInt(stamps + 4L * slot, value);
            fired[slot >>> 5] |= 1 << (slot & 31);
        });
    }

    /** Misbehaviour: writes {@code value} as the event channel's write pointer and raises the event interrupt. */
    public void corruptEventWritePointer(int value) {
        inject(() -> {
            dma().writeInt(events.state() + ChannelLayout.WPTR, value);
            raiseInterrupt(eventVector);
        });
    }

    private void inject(Runnable misbehave) {
        injected.incrementAndGet();
        misbehaviour.add(misbehave);
    }

    /**
     * {@return whether every misbehaviour injected so far (events, stamps, ring pointers) has been carried out, or
     * dropped by a reset} A booted firmware carries them out at its next step, even when paused; a crashed one
     * never does.
     */
    public boolean injectionsDone() {
        return injectionsDone.get() == injected.get();
    }

    /** {@return how many times the firmware started the command of job {@code jobId}} */
    public int executions(long jobId) {
        AtomicInteger n = executions.get(jobId);
        return n == null ? 0 : n.get();
    }

    /** {@return the number of commands started since creation} */
    public long executedCommands() {
        return executed.get();
    }

    /** {@return the number of TLB invalidation messages processed} */
    public long tlbInvalidations() {
        return tlbInvalidations.get();
    }

    /** {@return the {@code (va, size)} of every TLB invalidation processed, oldest first} */
    public List<long[]> invalidations() {
        return List.copyOf(invalidations);
    }

    /** {@return whether the TLB holds a translation of the page of {@code va}} (as of the end of the last step) */
    public boolean isCachedTranslation(long va) {
        return cachedSnapshot.containsKey(va >>> 12);
    }

    /** {@return whether the firmware has booted and not halted} */
    public boolean isBooted() {
        return bootedFlag;
    }

    /** {@return whether the firmware has crashed (until reset)} */
    public boolean isCrashed() {
        return crashedFlag;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The firmware
    // ---------------------------------------------------------------------------------------------------------

    @Override
    protected boolean process() {
        if (crashed) {
            return false;
        }
        MemorySegment bar = bar(0);
        if (crashRequested) {
            crashRequested = false;
            crash(Regs.CRASH_INJECTED, 0, "crash injected");
            return true;
        }
        // Acquire: pairs with the driver's release write of CONTROL, after it wrote the init data.
        boolean run = Regs.CONTROL_RUN.isSet((int) Le.INT.getAcquire(bar, Regs.CONTROL.offset()));
        if (!booted) {
            if (run && !initFailed) {
                boot(bar);
                return true;
            }
            if (!run) {
                initFailed = false;
            }
            return false;
        }
        if (!run) {
            halt(bar);
            return true;
        }
        boolean did = false;
        try {
            Runnable r;
            while ((r = misbehaviour.poll()) != null) {
                try {
                    r.run();
                } finally {
                    injectionsDone.incrementAndGet();
                }
                did = true;
            }
            if (paused) {
                // A paused firmware does no work; it still delivers what an injection queued.
                if (did) {
                    flushEvents();
                }
                return did;
            }
            did |= drain(bar, Regs.CH_DEVICE_CONTROL, devctl, onDeviceControl);
            did |= drain(bar, Regs.CH_PIPE, pipe, onPipe);
            did |= runQueues();
            did |= flushEvents();
        } catch (IommuFaultException e) {
            crash(Regs.CRASH_IOMMU_FAULT, e.fault().deviceAddress(), e.getMessage());
            return true;
        } catch (Malformed e) {
            crash(e.code, 0, e.getMessage());
            return true;
        }
        return did;
    }

    private void boot(MemorySegment bar) {
        long addr = (long) Le.LONG.getAcquire(bar, Regs.INITDATA.offset());
        try {
            dma().read(addr, init);
            if ((int) Le.INT.get(init, InitDataLayout.MAGIC_OFF) != InitDataLayout.MAGIC
                    || (int) Le.INT.get(init, InitDataLayout.VERSION_OFF) != InitDataLayout.VERSION) {
                throw new Malformed(Regs.CRASH_BAD_INIT_DATA, "bad init data magic or version");
            }
            devctl = ring("device control", InitDataLayout.DEVCTL_RING);
            pipe = ring("pipe", InitDataLayout.PIPE_RING);
            events = ring("event", InitDataLayout.EVENT_RING);
            stamps = (long) Le.LONG.get(init, InitDataLayout.STAMPS_OFF);
            stampCount = (int) Le.INT.get(init, InitDataLayout.STAMP_COUNT);
            eventVector = (int) Le.INT.get(init, InitDataLayout.EVENT_VECTOR);
            statusVector = (int) Le.INT.get(init, InitDataLayout.STATUS_VECTOR);
            if (stampCount != InitDataLayout.STAMPS || eventVector < 0 || eventVector >= Regs.MSIX_VECTORS
                    || statusVector < 0 || statusVector >= Regs.MSIX_VECTORS) {
                throw new Malformed(Regs.CRASH_BAD_INIT_DATA, "bad stamp count or vectors in init data");
            }
            mmu.reset((long) Le.LONG.get(init, InitDataLayout.UAT_TTBR));
        } catch (IommuFaultException | Malformed e) {
            LOG.warn("AGX firmware: init data at 0x{} rejected: {}", Long.toHexString(addr), e.getMessage());
            initFailed = true;
            int code = e instanceof Malformed m ? m.code : Regs.CRASH_BAD_INIT_DATA;
            // Release: the code is visible before the status bit the driver polls.
            Le.INT.setRelease(bar, Regs.CRASH_CODE.offset(), code);
            Le.INT.setRelease(bar, Regs.STATUS.offset(), Regs.STATUS_INIT_ERROR.with(0, 1));
            raiseInterrupt(Regs.VECTOR_STATUS);
            return;
        }
        Arrays.fill(readPointers, 0);
        eventWptr = 0;
        for (int ch = 0; ch < Regs.TX_CHANNELS; ch++) {
            lastDoorbell[ch] = (int) Le.INT.getAcquire(bar, Regs.doorbell(ch));
        }
        booted = true;
        bootedFlag = true;
        // Release: the firmware's state is set up before the driver can see READY and start sending.
        Le.INT.setRelease(bar, Regs.STATUS.offset(), Regs.STATUS_READY.with(0, 1));
        // Anything published before the doorbells were sampled is picked up by the first drain.
        lastDoorbell[Regs.CH_DEVICE_CONTROL]--;
        lastDoorbell[Regs.CH_PIPE]--;
    }

    private Ring ring(String name, long descOffset) throws Malformed {
        long state = (long) Le.LONG.get(init, descOffset + ChannelLayout.DESC_STATE);
        long ring = (long) Le.LONG.get(init, descOffset + ChannelLayout.DESC_RING);
        int count = (int) Le.INT.get(init, descOffset + ChannelLayout.DESC_COUNT);
        int size = (int) Le.INT.get(init, descOffset + ChannelLayout.DESC_MSG_SIZE);
        if (count < 2 || count > ChannelLayout.MAX_COUNT || size != ChannelLayout.MSG_SIZE) {
            throw new Malformed(Regs.CRASH_BAD_INIT_DATA, name + " channel of " + count + " x " + size + " bytes");
        }
        return new Ring(name, state, ring, count);
    }

    private void halt(MemorySegment bar) {
        forget();
        Le.INT.setRelease(bar, Regs.STATUS.offset(), 0);
    }

    private void crash(int code, long address, String why) {
        LOG.warn("AGX firmware crashed: {} (code {})", why, code);
        crashed = true;
        crashedFlag = true;
        MemorySegment bar = bar(0);
        // Release: code and address are visible before the CRASHED bit the driver reads first.
        Le.INT.setRelease(bar, Regs.CRASH_CODE.offset(), code);
        Le.LONG.setRelease(bar, Regs.CRASH_ADDR.offset(), address);
        Le.INT.setRelease(bar, Regs.STATUS.offset(), Regs.STATUS_CRASHED.with(0, 1));
        raiseInterrupt(booted ? statusVector : Regs.VECTOR_STATUS);
    }

    /** Validates a ring pointer read from shared memory. */
    private static int pointer(int value, int count, String what) throws Malformed {
        if (value < 0 || value >= count) {
            throw new Malformed(Regs.CRASH_BAD_MESSAGE, what + " " + value + " is outside 0.." + (count - 1));
        }
        return value;
    }

    private boolean doorbellRang(MemorySegment bar, int channel) {
        // Acquire: pairs with the driver's release doorbell write, itself after its release store of wptr.
        int db = (int) Le.INT.getAcquire(bar, Regs.doorbell(channel));
        if (db == lastDoorbell[channel]) {
            return false;
        }
        lastDoorbell[channel] = db;
        return true;
    }

    /** Consumes every message the driver published on a transmit ring, if its doorbell rang. */
    private boolean drain(MemorySegment bar, int channel, Ring ring, MessageHandler handler) throws Malformed {
        if (!doorbellRang(bar, channel)) {
            return false;
        }
        DmaEngine dma = dma();
        int w = pointer(dma.readInt(ring.state() + ChannelLayout.WPTR), ring.count(), ring.name() + " wptr");
        while (readPointers[channel] != w) {
            dma.read(ring.ring() + readPointers[channel] * ChannelLayout.MSG_SIZE, msg);
            handler.handle(msg);
            readPointers[channel] = (readPointers[channel] + 1) % ring.count();
            // Release (DMA engine): the driver may reuse the slot once it sees the new read pointer.
            dma.writeInt(ring.state() + ChannelLayout.RPTR, readPointers[channel]);
        }
        return true;
    }

    private void onDeviceControl(MemorySegment m) throws Malformed {
        int type = (int) Le.INT.get(m, DeviceControlMsg.TYPE);
        if (type != DeviceControlMsg.TLB_INVALIDATE) {
            throw new Malformed(Regs.CRASH_BAD_MESSAGE, "device control message type " + type);
        }
        long va = (long) Le.LONG.get(m, DeviceControlMsg.VA);
        long size = (long) Le.LONG.get(m, DeviceControlMsg.SIZE);
        mmu.invalidate(va, size);
        snapshotTlb();
        invalidations.add(new long[] {va, size});
        tlbInvalidations.incrementAndGet();
    }

    private void onPipe(MemorySegment m) throws Malformed {
        int type = (int) Le.INT.get(m, PipeMsg.TYPE);
        if (type != PipeMsg.RUN_QUEUE) {
            throw new Malformed(Regs.CRASH_BAD_MESSAGE, "pipe message type " + type);
        }
        long info = (long) Le.LONG.get(m, PipeMsg.QUEUE_INFO);
        int flags = (int) Le.INT.get(m, PipeMsg.FLAGS);
        FwQueue q = queues.get(info);
        if (q == null || (flags & PipeMsg.FLAG_NEW) != 0) {
            if (q != null) {
                runnable.remove(q);
            }
            q = readQueue(info);
            queues.put(info, q);
        }
        q.wptr = pointer((int) Le.INT.get(m, PipeMsg.WPTR), q.size, "queue " + q.id + " wptr");
        if (!q.runnable) {
            q.runnable = true;
            runnable.addLast(q);
        }
    }

    private FwQueue readQueue(long info) throws Malformed {
        dma().read(info, qinfo);
        long ring = (long) Le.LONG.get(qinfo, QueueLayout.RING);
        int size = (int) Le.INT.get(qinfo, QueueLayout.RING_SIZE);
        if (size < 2 || size > QueueLayout.MAX_RING_SIZE) {
            throw new Malformed(Regs.CRASH_BAD_MESSAGE, "work queue at 0x" + Long.toHexString(info) + " has "
                    + size + " entries");
        }
        return new FwQueue(info, ring, size, (int) Le.INT.get(qinfo, QueueLayout.QUEUE_ID));
    }

    private boolean runQueues() throws Malformed {
        boolean did = false;
        int budget = COMMANDS_PER_STEP;
        int n = runnable.size();
        for (int i = 0; i < n && budget > 0; i++) {
            FwQueue q = runnable.pollFirst();
            if (q.hung) {
                did |= checkHung(q);
            } else if (q.rptr != q.wptr) {
                runCommand(q);
                budget--;
                did = true;
            }
            if (q.hung || q.rptr != q.wptr) {
                runnable.addLast(q);
            } else {
                q.runnable = false;
            }
        }
        if (did) {
            snapshotTlb();
        }
        return did;
    }

    private void runCommand(FwQueue q) throws Malformed {
        DmaEngine dma = dma();
        long at = dma.readLong(q.ring + q.rptr * QueueLayout.ENTRY_SIZE);
        dma.read(at, cmd);
        int op = (int) Le.INT.get(cmd, CommandLayout.OP);
        int slot = (int) Le.INT.get(cmd, CommandLayout.EVENT_SLOT);
        long job = (long) Le.LONG.get(cmd, CommandLayout.JOB_ID);
        int value = (int) Le.INT.get(cmd, CommandLayout.STAMP_VALUE);
        int timeoutMs = (int) Le.INT.get(cmd, CommandLayout.TIMEOUT_MS);
        long src = (long) Le.LONG.get(cmd, CommandLayout.SRC_VA);
        long dst = (long) Le.LONG.get(cmd, CommandLayout.DST_VA);
        long length = (long) Le.LONG.get(cmd, CommandLayout.LENGTH);
        int scalar = (int) Le.INT.get(cmd, CommandLayout.SCALAR);
        if (slot < 0 || slot >= stampCount) {
            throw new Malformed(Regs.CRASH_BAD_MESSAGE, "command of job " + job + " names event slot " + slot);
        }
        executed.incrementAndGet();
        executions.computeIfAbsent(job, k -> new AtomicInteger()).incrementAndGet();
        if (takeHang()) {
            q.hung = true;
            q.hungSince = System.nanoTime();
            q.hungCommand = at;
            q.hungJob = job;
            q.hungSlot = slot;
            q.hungValue = value;
            q.hungTimeoutMs = timeoutMs;
            return;
        }
        int status = CommandLayout.STATUS_OK;
        GpuFault fault = null;
        if (!valid(op, src, dst, length)) {
            status = CommandLayout.STATUS_INVALID;
        } else {
            try {
                switch (op) {
                    case CommandLayout.OP_FILL -> kernels.fill(dma, dst, length, scalar);
                    case CommandLayout.OP_COPY -> kernels.copy(dma, src, dst, length);
                    default -> kernels.saxpy(dma, Float.intBitsToFloat(scalar), src, dst, length);
                }
            } catch (GpuFault f) {
                status = CommandLayout.STATUS_FAULT;
                fault = f;
            }
        }
        if (fault != null) {
            pendingEvents.add(eventMessage(EventMsg.FAULT, slot, job, fault.address, value, fault.flags));
        }
        complete(q, at, slot, value, status, fault == null ? 0 : fault.flags, fault == null ? 0 : fault.address);
    }

    private static boolean valid(int op, long src, long dst, long length) {
        return switch (op) {
            case CommandLayout.OP_FILL, CommandLayout.OP_COPY -> length > 0 && length <= CommandLayout.MAX_BYTES;
            case CommandLayout.OP_SAXPY -> length > 0 && length <= CommandLayout.MAX_BYTES / 4
                    && (src & 3) == 0 && (dst & 3) == 0;
            default -> false;
        };
    }

    private boolean takeHang() {
        while (true) {
            int h = hangNext.get();
            if (h <= 0) {
                return false;
            }
            if (hangNext.compareAndSet(h, h - 1)) {
                return true;
            }
        }
    }

    /** The firmware's watchdog for a hung command: kills it once its timeout has passed. */
    private boolean checkHung(FwQueue q) {
        if (q.hungTimeoutMs == 0 || System.nanoTime() - q.hungSince < q.hungTimeoutMs * 1_000_000L) {
            return false;
        }
        q.hung = false;
        pendingEvents.add(eventMessage(EventMsg.TIMEOUT, q.hungSlot, q.hungJob, 0, q.hungValue, 0));
        complete(q, q.hungCommand, q.hungSlot, q.hungValue, CommandLayout.STATUS_TIMEOUT, 0, 0);
        return true;
    }

    /**
     * Finishes a command: result block, queue pointers, then the stamp (a release write, and the last access to the
     * command's or queue's memory: the driver may free them as soon as it sees the stamp).
     */
    private void complete(FwQueue q, long at, int slot, int value, int status, int flags, long address) {
        DmaEngine dma = dma();
        ResultOverride r = resultOverrides.poll();
        dma.writeInt(at + CommandLayout.FAULT_FLAGS, r == null ? flags : r.flags());
        dma.writeLong(at + CommandLayout.FAULT_ADDRESS, r == null ? address : r.address());
        dma.writeInt(at + CommandLayout.STATUS, r == null ? status : r.status());
        q.rptr = (q.rptr + 1) % q.size;
        PointerOverride p = pointerOverrides.poll();
        dma.writeInt(q.info + QueueLayout.GPU_RPTR, p == null ? q.rptr : p.rptr());
        dma.writeInt(q.info + QueueLayout.GPU_DONEPTR, p == null ? q.rptr : p.doneptr());
        dma.writeInt(stamps + 4L * slot, value);
        fired[slot >>> 5] |= 1 << (slot & 31);
    }

    private static long[] eventMessage(int type, int slot, long job, long address, int value, int flags) {
        long[] m = new long[(int) (ChannelLayout.MSG_SIZE / 8)];
        MemorySegment s = MemorySegment.ofArray(m);
        Le.INT.set(s, EventMsg.TYPE, type);
        Le.INT.set(s, EventMsg.SLOT, slot);
        Le.LONG.set(s, EventMsg.JOB_ID, job);
        Le.LONG.set(s, EventMsg.ADDRESS, address);
        Le.INT.set(s, EventMsg.STAMP_VALUE, value);
        Le.INT.set(s, EventMsg.FLAGS, flags);
        return m;
    }

    /** Posts queued fault/timeout events, then one flag event for every slot that fired; raises the interrupt. */
    private boolean flushEvents() throws Malformed {
        boolean posted = false;
        while (!pendingEvents.isEmpty() && post(pendingEvents.peekFirst())) {
            pendingEvents.pollFirst();
            posted = true;
        }
        if (pendingEvents.isEmpty() && (fired[0] | fired[1] | fired[2] | fired[3]) != 0) {
            long[] m = eventMessage(EventMsg.FLAG, 0, 0, 0, 0, 0);
            MemorySegment s = MemorySegment.ofArray(m);
            for (int i = 0; i < EventMsg.FIRING_WORDS; i++) {
                Le.INT.set(s, EventMsg.FIRING + 4L * i, fired[i]);
            }
            if (post(m)) {
                Arrays.fill(fired, 0);
                posted = true;
            }
        }
        if (posted) {
            raiseInterrupt(eventVector);
        }
        return posted;
    }

    /** {@return whether the message fit in the event ring} */
    private boolean post(long[] message) throws Malformed {
        DmaEngine dma = dma();
        int r = pointer(dma.readInt(events.state() + ChannelLayout.RPTR), events.count(), "event rptr");
        int next = (eventWptr + 1) % events.count();
        if (next == r) {
            return false; // full: the driver has not caught up; try again next step
        }
        MemorySegment.copy(MemorySegment.ofArray(message), 0, msg, 0, ChannelLayout.MSG_SIZE);
        dma.write(events.ring() + eventWptr * ChannelLayout.MSG_SIZE, msg);
        eventWptr = next;
        // Release: the message body is visible before the new write pointer.
        dma.writeInt(events.state() + ChannelLayout.WPTR, eventWptr);
        return true;
    }

    /** Publishes the TLB contents for {@link #isCachedTranslation} (the TLB itself is firmware-private). */
    private void snapshotTlb() {
        cachedSnapshot.clear();
        for (long vpn : mmu.cachedPages()) {
            cachedSnapshot.put(vpn, Boolean.TRUE);
        }
    }

    private void forget() {
        booted = false;
        bootedFlag = false;
        queues.clear();
        runnable.clear();
        pendingEvents.clear();
        Arrays.fill(fired, 0);
        mmu.reset(0);
        cachedSnapshot.clear();
    }

    /** Function-level reset: every register and all firmware state back to power-on values. */
    @Override
    protected void reset() {
        forget();
        crashed = false;
        crashedFlag = false;
        initFailed = false;
        crashRequested = false;
        paused = false;
        hangNext.set(0);
        while (misbehaviour.poll() != null) {
            injectionsDone.incrementAndGet(); // dropped: a reset firmware forgets what it was about to do
        }
        resultOverrides.clear();
        pointerOverrides.clear();
        MemorySegment bar = bar(0);
        bar.asSlice(0, 0x100).fill((byte) 0);
        Le.INT.setRelease(bar, Regs.ID.offset(), Regs.ID_VALUE);
        Le.INT.setRelease(bar, Regs.VERSION.offset(), Regs.VERSION_VALUE);
        Arrays.fill(lastDoorbell, 0);
    }
}
