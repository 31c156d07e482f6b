package dev.ferrum.bench;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoCallback;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A diagnostic, not driver code: {@link SafeQueuePath}'s work (the driver's {@code Queue} steps, with the data
 * buffer's pin and unpin and every access through checked segments) written the way {@code bench/ANALYSIS.md}
 * proposes for {@code Sqe}, {@code Cqe} and {@code Mmio}, to measure what the proposal would buy:
 * <ul>
 *   <li>the SQE is eight little-endian 64-bit stores through an unaligned-layout handle (dword pairs packed; no
 *       per-store alignment check) instead of twelve aligned 32/64-bit stores;</li>
 *   <li>the CQE's DW2 and DW3 are one 64-bit acquire read (phase, CID, SQ head and SQ ID at once), DW0 one plain
 *       read;</li>
 *   <li>doorbells are the segment VarHandle's release store on the register window, i.e. {@code Mmio.write32}
 *       without its own bounds/alignment check (which the segment access repeats anyway).</li>
 * </ul>
 * Validation of what the device wrote, slot bookkeeping and callback delivery are as in {@code Queue}.
 *
 * <p>Invariants: those of {@link SafeQueuePath}.
 */
final class ProposedQueuePath {
    private static final VarHandle LONG_U =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final int FREE = 0;
    private static final int IN_FLIGHT = 1;

    private static final class Slot {
        final int cid;
        int state = FREE;
        long prp1;
        long prp2;
        long lba;
        int blocks;
        DmaBuffer pinned;
        Object context;
        long tag;

        Slot(int cid) {
            this.cid = cid;
        }
    }

    private final int qid;
    private final int entries;
    private final MemorySegment sq;
    private final MemorySegment cq;
    private final MemorySegment regs;
    private final long sqDoorbell;
    private final long cqDoorbell;
    private final Slot[] slots;
    private final int[] freeCids;
    private int freeCount;
    private int sqTail;
    private int cqHead;
    private int phase = 1;
    private final Object[] doneContext;
    private final long[] doneTag;
    private final int[] doneStatus;
    private int doneCount;

    ProposedQueuePath(int qid, int entries, DmaBuffer sq, DmaBuffer cq, MemorySegment regs, long sqDoorbell,
                      long cqDoorbell) {
        this.qid = qid;
        this.entries = entries;
        this.sq = sq.segment();
        this.cq = cq.segment();
        this.regs = regs;
        this.sqDoorbell = sqDoorbell;
        this.cqDoorbell = cqDoorbell;
        this.slots = new Slot[entries - 1];
        this.freeCids = new int[entries - 1];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(i);
        }
        for (int i = slots.length - 1; i >= 0; i--) {
            freeCids[freeCount++] = i;
        }
        this.doneContext = new Object[slots.length];
        this.doneTag = new long[slots.length];
        this.doneStatus = new int[slots.length];
    }

    int outstanding() {
        return slots.length - freeCount;
    }

    /** A Read of one page-aligned 4 KiB buffer ({@code blocks * blockSize <= 4096}: PRP1 only). */
    void read(long lba, int blocks, int blockSize, DmaBuffer buffer, IoCallback callback, long tag) {
        if (freeCount == 0) {
            throw new IllegalStateException("queue " + qid + " is full");
        }
        if ((long) blocks * blockSize > SafeQueuePath.PAGE - (buffer.deviceAddress() & (SafeQueuePath.PAGE - 1))) {
            throw new IllegalArgumentException("the diagnostic path handles one-page transfers only");
        }
        Slot r = slots[freeCids[--freeCount]];
        r.state = IN_FLIGHT;
        buffer.pin();
        r.pinned = buffer;
        r.prp1 = buffer.deviceAddress();
        r.prp2 = 0;
        r.lba = lba;
        r.blocks = blocks;
        r.context = callback;
        r.tag = tag;
        long e = (long) sqTail * 64;
        MemorySegment s = sq;
        LONG_U.set(s, e, (SafeQueuePath.READ | (long) r.cid << 16) | 1L << 32);   // CDW0, NSID 1
        LONG_U.set(s, e + 8, 0L);                                                  // CDW2-3
        LONG_U.set(s, e + 16, 0L);                                                 // MPTR
        LONG_U.set(s, e + 24, r.prp1);
        LONG_U.set(s, e + 32, r.prp2);
        LONG_U.set(s, e + 40, lba);                                                // CDW10-11: SLBA
        LONG_U.set(s, e + 48, blocks - 1L);                                        // CDW12: NLB; CDW13
        LONG_U.set(s, e + 56, 0L);                                                 // CDW14-15
        if (++sqTail == entries) {
            sqTail = 0;
        }
        // Release: the SQE is visible to the device before the new tail.
        INT.setRelease(regs, sqDoorbell, sqTail);
    }

    int processCompletions(int max) {
        int limit = Math.min(max, slots.length - doneCount);
        int n = 0;
        int head = cqHead;
        int ph = phase;
        while (n < limit) {
            long base = (long) head * 16;
            // DW2 (SQ head, SQ ID) and DW3 (CID, status with phase) in one acquire read: the device writes DW3
            // last, so a new phase in this single-copy-atomic read means DW2 is the new one too.
            long dw23 = (long) LONG.getAcquire(cq, base + 8);
            int dw3 = (int) (dw23 >>> 32);
            int status = dw3 >>> 16;
            if ((status & 1) != ph) {
                break;
            }
            int cid = dw3 & 0xffff;
            int sqHead = (int) dw23 & 0xffff;
            int sqId = (int) dw23 >>> 16 & 0xffff;
            if (cid >= slots.length || slots[cid].state == FREE) {
                throw new IllegalStateException("completion for command ID " + cid + ", which is not outstanding");
            }
            if (sqHead >= entries || sqId != qid) {
                throw new IllegalStateException("completion reports SQ head " + sqHead + " of SQ " + sqId);
            }
            if (++head == entries) {
                head = 0;
                ph ^= 1;
            }
            Slot r = slots[cid];
            int dw0 = (int) INT.get(cq, base); // as Queue.reap: read, handed on, unused for I/O commands
            cqHead = head;
            phase = ph;
            n++;
            doneContext[doneCount] = r.context;
            doneTag[doneCount] = r.tag;
            doneStatus[doneCount] = SafeQueuePath.decodeStatus(status & ~1);
            doneCount++;
            r.state = FREE;
            r.context = null;
            DmaBuffer b = r.pinned;
            if (b != null) {
                r.pinned = null;
                b.unpin();
            }
            freeCids[freeCount++] = r.cid;
        }
        if (n > 0) {
            INT.setRelease(regs, cqDoorbell, cqHead);
        }
        int d = doneCount;
        for (int i = 0; i < d; i++) {
            Object c = doneContext[i];
            doneContext[i] = null;
            if (c instanceof IoCallback cb) {
                cb.complete(doneTag[i], doneStatus[i]);
            }
        }
        doneCount = 0;
        return d;
    }
}
