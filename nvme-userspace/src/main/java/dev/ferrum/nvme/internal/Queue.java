package dev.ferrum.nvme.internal;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;

import java.lang.foreign.MemorySegment;

/**
 * The mechanics of one NVMe submission/completion queue pair: ring memory, tail and head indexes, the phase tag,
 * command-ID allocation, doorbells, and validation of what the device writes into the completion queue. Not
 * thread-safe: its owner ({@code AdminQueue} under a lock, or an I/O queue pair on its owner thread or under its
 * lock) serializes access.
 *
 * <p>Invariants:
 * <ul>
 *   <li>at most {@code entries - 1} commands are outstanding (one SQ slot stays empty so a full queue is
 *       distinguishable from an empty one), so the tail never overtakes the device's head;</li>
 *   <li>a completion is accepted only if its command ID names an outstanding command, exactly as submitted, and
 *       its SQ head and SQ ID are in range; anything else is reported as a device fault and nothing further is
 *       consumed;</li>
 *   <li>a command ID on the wire is the slot index in its low bits and a generation, advanced at every allocation of
 *       the slot, in the bits above (as Linux's {@code nvme_cid} does): a stale or duplicated completion of an
 *       earlier command in the same slot is therefore a device fault, not the completion of the command that reused
 *       the slot. Queues of up to 4096 entries keep 4 or more generation bits; only a 32769 to 65536-entry queue has
 *       none;</li>
 *   <li>each outstanding command is completed at most once: its slot is freed when it completes.</li>
 * </ul>
 *
 * <p>Hot paths ({@link #submit}, {@link #reap}) do not allocate.
 */
public final class Queue {
    /** Receives completions from {@link #reap}. */
    public interface Sink {
        /**
         * A valid completion of an outstanding command. The sink takes over the slot: it must either
         * {@link Queue#free free} it (before running user code, so the user's buffer is unpinned first) or resubmit
         * it.
         */
        void completed(Request request, int dw0, int status);

        /** The device wrote an invalid completion entry; reaping stopped. */
        void deviceFault(String what);
    }

    public final int qid;
    public final int entries;
    private final Mmio regs;
    private final long sqDoorbell;
    private final long cqDoorbell;
    private final DmaBuffer sqBuffer;
    private final DmaBuffer cqBuffer;
    private final MemorySegment sq;
    private final MemorySegment cq;
    private final Request[] slots;
    /** Bits of the command ID that hold the slot index; the generation is above them. */
    private final int slotBits;
    private final int slotMask;
    private final int generationMask;
    private final int[] freeCids;
    private int freeCount;
    private int sqTail;
    private int cqHead;
    private int phase = 1;
    private boolean doorbellPending;
    private boolean ringsPinned;

    /**
     * Allocates the rings from {@code pool} (one buffer each, physically contiguous in device address space).
     *
     * @param entries queue size, 2 to 65536
     */
    public Queue(int qid, int entries, DmaPool pool, Mmio regs, int dstrd) {
        if (entries < 2 || entries > 65536) {
            throw new IllegalArgumentException("queue size " + entries + " is not 2..65536");
        }
        this.qid = qid;
        this.entries = entries;
        this.regs = regs;
        this.sqDoorbell = NvmeRegs.sqTailDoorbell(qid, dstrd);
        this.cqDoorbell = NvmeRegs.cqHeadDoorbell(qid, dstrd);
        DmaBuffer sqb = pool.allocate(entries * Sqe.SIZE);
        DmaBuffer cqb;
        try {
            cqb = pool.allocate(entries * Cqe.SIZE);
        } catch (RuntimeException e) {
            sqb.close();
            throw e;
        }
        this.sqBuffer = sqb;
        this.cqBuffer = cqb;
        this.sq = sqb.segment();
        this.cq = cqb.segment();
        this.slots = new Request[entries - 1];
        this.slotBits = Math.max(1, 32 - Integer.numberOfLeadingZeros(entries - 2));
        this.slotMask = (1 << slotBits) - 1;
        this.generationMask = (1 << (16 - slotBits)) - 1;
        this.freeCids = new int[entries - 1];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Request(i);
        }
        resetRings();
    }

    /** {@return the device address of the submission queue} */
    public long sqAddress() {
        return sqBuffer.deviceAddress();
    }

    /** {@return the device address of the completion queue} */
    public long cqAddress() {
        return cqBuffer.deviceAddress();
    }

    /** {@return the maximum number of outstanding commands} */
    public int capacity() {
        return slots.length;
    }

    /** {@return the number of outstanding commands} */
    public int outstanding() {
        return slots.length - freeCount;
    }

    /** {@return the slot of command ID {@code cid}} */
    public Request slot(int cid) {
        return slots[cid];
    }

    /**
     * Forgets all queue state for a fresh start after a controller reset: zeroes the completion ring (so no stale
     * entry can look new), rewinds indexes and phase. Outstanding slots are untouched: the owner resubmits or
     * fails them. Call only while the controller is disabled or the queue is deleted.
     */
    public void resetRings() {
        cq.fill((byte) 0);
        sqTail = 0;
        cqHead = 0;
        phase = 1;
        doorbellPending = false;
        freeCount = 0;
        for (int i = slots.length - 1; i >= 0; i--) {
            if (slots[i].state == Request.FREE) {
                freeCids[freeCount++] = i;
            }
        }
    }

    /** {@return a free slot, or null when {@link #capacity()} commands are outstanding} */
    public Request allocate() {
        if (freeCount == 0) {
            return null;
        }
        Request r = slots[freeCids[--freeCount]];
        r.generation = (r.generation + 1) & generationMask;
        r.commandId = r.cid | r.generation << slotBits;
        r.state = Request.IN_FLIGHT;
        return r;
    }

    /** Returns a slot to the free stack, unpinning its buffer. */
    public void free(Request r) {
        if (r.state == Request.FREE) {
            throw new IllegalStateException("command " + r.cid + " of queue " + qid + " freed twice");
        }
        r.state = Request.FREE;
        r.context = null;
        r.event = null;
        DmaBuffer b = r.pinned;
        if (b != null) {
            r.pinned = null;
            b.unpin();
        }
        freeCids[freeCount++] = r.cid;
    }

    /** Writes the slot's command at the tail. The doorbell is rung by {@link #ringDoorbell()}. */
    public void submit(Request r) {
        Sqe.write(sq, (long) sqTail * Sqe.SIZE, r.opcode, r.commandId, r.nsid, r.prp1, r.prp2, r.cdw10, r.cdw11,
                r.cdw12, r.cdw13, r.cdw14, r.cdw15);
        if (++sqTail == entries) {
            sqTail = 0;
        }
        doorbellPending = true;
    }

    /** Publishes submitted commands: one release-ordered write of the SQ tail doorbell, if anything is new. */
    public void ringDoorbell() {
        if (doorbellPending) {
            doorbellPending = false;
            // Release: the SQ entries written above are visible to the device before it sees the new tail.
            regs.write32(sqDoorbell, sqTail);
        }
    }

    /**
     * Consumes up to {@code max} new completion entries, validating each, then writes the CQ head doorbell once.
     *
     * @return the number of completions consumed
     */
    public int reap(Sink sink, int max) {
        int n = 0;
        int head = cqHead;
        int ph = phase;
        while (n < max) {
            long base = (long) head * Cqe.SIZE;
            long dw23 = Cqe.dw23Acquire(cq, base);
            int status = (int) (dw23 >>> 48);
            if ((status & NvmeRegs.STATUS_PHASE) != ph) {
                break;
            }
            int commandId = (int) (dw23 >>> 32) & 0xffff;
            int cid = commandId & slotMask;
            int sqHead = (int) dw23 & 0xffff;
            int sqId = (int) (dw23 >>> 16) & 0xffff;
            if (cid >= slots.length || slots[cid].state == Request.FREE || slots[cid].commandId != commandId) {
                sink.deviceFault("completion for command ID " + commandId + " on queue " + qid
                        + ", which is not outstanding (a stale, duplicated or invented completion entry)");
                break;
            }
            if (sqHead >= entries || sqId != qid) {
                sink.deviceFault("completion on queue " + qid + " reports SQ head " + sqHead + " of SQ " + sqId
                        + " (queue has " + entries + " entries)");
                break;
            }
            if (++head == entries) {
                head = 0;
                ph ^= 1;
            }
            Request r = slots[cid];
            int dw0 = Cqe.dw0(cq, base);
            // Record the progress first: a sink may submit more work on this queue.
            cqHead = head;
            phase = ph;
            n++;
            sink.completed(r, dw0, status & ~NvmeRegs.STATUS_PHASE);
        }
        if (n > 0) {
            regs.write32(cqDoorbell, cqHead);
        }
        return n;
    }

    /** {@return whether the next completion entry is new (a cheap peek, no side effects)} */
    public boolean hasCompletion() {
        long dw23 = Cqe.dw23Acquire(cq, (long) cqHead * Cqe.SIZE);
        return ((int) (dw23 >>> 48) & NvmeRegs.STATUS_PHASE) == phase;
    }

    /**
     * Records whether the device may access the rings: while it may (the queue exists on an enabled controller),
     * the ring buffers are pinned, so no pool or owner can free them under the device. Idempotent.
     */
    public synchronized void deviceOwnsRings(boolean owns) {
        if (owns && !ringsPinned) {
            sqBuffer.pin();
            cqBuffer.pin();
            ringsPinned = true;
        } else if (!owns && ringsPinned) {
            sqBuffer.unpin();
            cqBuffer.unpin();
            ringsPinned = false;
        }
    }

    /**
     * Frees the rings. The device must no longer own them ({@link #deviceOwnsRings(boolean) deviceOwnsRings(false)}
     * after the queue was deleted or the controller disabled); otherwise this throws and the memory stays.
     * Synchronized with {@link #deviceOwnsRings}: a failing controller may give the rings up from another thread.
     */
    public void release() {
        sqBuffer.close();
        cqBuffer.close();
    }
}
