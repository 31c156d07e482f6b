package dev.ferrum.bench.internal;

import dev.ferrum.nvme.IoCallback;

/**
 * The raw-pointer variant of the driver's NVMe queue code, for the benchmark's "safe / raw" ratio: the same steps
 * as {@code dev.ferrum.nvme.internal.Queue} plus the Read submission and owner-thread completion path of
 * {@code IoQueuePair} (as {@code dev.ferrum.bench.SafeQueuePath} drives them), on absolute addresses through
 * {@code sun.misc.Unsafe}:
 * <ul>
 *   <li>the same free-CID stack, request slots, command IDs with a per-slot generation above the slot index,
 *       tail/head/phase bookkeeping and validation of completion entries (command ID outstanding exactly as
 *       submitted, SQ head and SQ ID in range) as {@code Queue};</li>
 *   <li>the same SQE layout and stores as {@code Sqe} (eight 64-bit stores, dword pairs packed), the same
 *       release-ordered doorbell writes, the same single 64-bit acquire load of the CQE's DW2 and DW3 as
 *       {@code Cqe} before DW0;</li>
 *   <li>the same PRP setup and the same completion buffering and callback delivery as {@code IoQueuePair};</li>
 *   <li>no bounds or lifetime checks on memory (no segments), and no pin/unpin of the data buffer.</li>
 * </ul>
 *
 * <p>Invariants: those of {@code Queue} (at most {@code entries - 1} outstanding; a completion is accepted only
 * for an outstanding command ID; each command completes once). Owner-thread only.
 */
public final class RawQueue {
    private static final long SQE_SIZE = 64;
    private static final long CQE_SIZE = 16;
    private static final long PAGE = 4096;
    private static final int FREE = 0;
    private static final int IN_FLIGHT = 1;
    private static final int READ = 0x02;
    private static final int STATUS_PHASE = 1;

    /** One command slot, as {@code dev.ferrum.nvme.internal.Request}. */
    static final class Slot {
        final int cid;
        int generation;
        int commandId;
        int state = FREE;
        int opcode;
        int nsid;
        long prp1;
        long prp2;
        int cdw10;
        int cdw11;
        int cdw12;
        int cdw13;
        int cdw14;
        int cdw15;
        long deadlineNanos;
        int retries;
        Object context;
        long tag;

        Slot(int cid) {
            this.cid = cid;
        }
    }

    private final int qid;
    private final int entries;
    private final long sq;
    private final long cq;
    private final long prpPages;
    private final long prpPagesDevice;
    private final long sqDoorbell;
    private final long cqDoorbell;
    private final Slot[] slots;
    private final int slotBits;
    private final int slotMask;
    private final int generationMask;
    private final int[] freeCids;
    private int freeCount;
    private int sqTail;
    private int cqHead;
    private int phase = 1;
    private boolean doorbellPending;
    private final Object[] doneContext;
    private final long[] doneTag;
    private final int[] doneStatus;
    private int doneCount;

    /**
     * @param sq         address of {@code entries * 64} bytes of submission ring (CPU address; the device was told
     *                   its device address when the queue was created)
     * @param cq         address of {@code entries * 16} bytes of completion ring, zeroed
     * @param prpPages   address of {@code (entries - 1) * 4096} bytes of PRP list pages
     * @param prpPagesDevice the device address (IOVA) of the PRP list pages
     * @param sqDoorbell address of the SQ tail doorbell
     * @param cqDoorbell address of the CQ head doorbell
     */
    public RawQueue(int qid, int entries, long sq, long cq, long prpPages, long prpPagesDevice, long sqDoorbell,
                    long cqDoorbell) {
        this.qid = qid;
        this.entries = entries;
        this.sq = sq;
        this.cq = cq;
        this.prpPages = prpPages;
        this.prpPagesDevice = prpPagesDevice;
        this.sqDoorbell = sqDoorbell;
        this.cqDoorbell = cqDoorbell;
        this.slots = new Slot[entries - 1];
        this.slotBits = Math.max(1, 32 - Integer.numberOfLeadingZeros(entries - 2));
        this.slotMask = (1 << slotBits) - 1;
        this.generationMask = (1 << (16 - slotBits)) - 1;
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

    /** {@return commands submitted and not completed} */
    public int outstanding() {
        return slots.length - freeCount;
    }

    /**
     * Submits a Read of {@code blocks} blocks of {@code blockSize} bytes at {@code lba} into the buffer at device
     * address {@code buffer}.
     */
    public void read(long lba, int blocks, int blockSize, long buffer, IoCallback callback, long tag) {
        if (freeCount == 0) {
            throw new IllegalStateException("queue " + qid + " is full");
        }
        Slot r = slots[freeCids[--freeCount]];
        r.generation = (r.generation + 1) & generationMask;
        r.commandId = r.cid | r.generation << slotBits;
        r.state = IN_FLIGHT;
        long len = (long) blocks * blockSize;
        long prp1 = buffer;
        long prp2 = 0;
        long first = PAGE - (buffer & (PAGE - 1));
        if (len > first) {
            long next = buffer + first;
            long rest = len - first;
            if (rest <= PAGE) {
                prp2 = next;
            } else {
                long list = r.cid * PAGE;
                long pages = (rest + PAGE - 1) / PAGE;
                for (long i = 0; i < pages; i++) {
                    // SAFETY: list + i * 8 < (cid + 1) * PAGE: inside the caller's PRP pages (a 2 MiB transfer
                    // needs 512 entries, one page).
                    Raw.putLong(prpPages + list + i * 8, next + i * PAGE);
                }
                prp2 = prpPagesDevice + list;
            }
        }
        r.opcode = READ;
        r.nsid = 1;
        r.prp1 = prp1;
        r.prp2 = prp2;
        r.cdw10 = (int) lba;
        r.cdw11 = (int) (lba >>> 32);
        r.cdw12 = blocks - 1;
        r.cdw13 = 0;
        r.cdw14 = 0;
        r.cdw15 = 0;
        r.context = callback;
        r.tag = tag;
        r.retries = 0;
        r.deadlineNanos = 0;
        submit(r);
        ringDoorbell();
    }

    private void submit(Slot r) {
        // SAFETY: sqTail is in [0, entries): the 64 bytes are inside the caller's submission ring.
        long e = sq + sqTail * SQE_SIZE;
        Raw.putLong(e, pair((r.opcode & 0xff) | (r.commandId << 16), r.nsid));  // CDW0, NSID
        Raw.putLong(e + 8, 0L);                                            // CDW2-3
        Raw.putLong(e + 16, 0L);                                           // MPTR
        Raw.putLong(e + 24, r.prp1);
        Raw.putLong(e + 32, r.prp2);
        Raw.putLong(e + 40, pair(r.cdw10, r.cdw11));
        Raw.putLong(e + 48, pair(r.cdw12, r.cdw13));
        Raw.putLong(e + 56, pair(r.cdw14, r.cdw15));
        if (++sqTail == entries) {
            sqTail = 0;
        }
        doorbellPending = true;
    }

    private static long pair(int low, int high) {
        return Integer.toUnsignedLong(low) | (long) high << 32;
    }

    private void ringDoorbell() {
        if (doorbellPending) {
            doorbellPending = false;
            // SAFETY: the doorbell is inside the caller's register window. Release: the SQE is visible first.
            Raw.putIntRelease(sqDoorbell, sqTail);
        }
    }

    /** Reaps up to {@code max} completions and runs their callbacks; {@return how many} */
    public int processCompletions(int max) {
        int limit = Math.min(max, slots.length - doneCount);
        if (limit > 0) {
            reap(limit);
        }
        int n = doneCount;
        for (int i = 0; i < n; i++) {
            Object c = doneContext[i];
            doneContext[i] = null;
            try {
                if (c instanceof IoCallback cb) {
                    cb.complete(doneTag[i], doneStatus[i]);
                }
            } catch (RuntimeException e) {
                // as SafeQueuePath
            }
        }
        doneCount = 0;
        return n;
    }

    private int reap(int max) {
        int n = 0;
        int head = cqHead;
        int ph = phase;
        while (n < max) {
            // SAFETY: head is in [0, entries): the 16 bytes are inside the caller's completion ring.
            long base = cq + head * CQE_SIZE;
            long dw23 = Raw.getLongAcquire(base + 8);      // DW2 and DW3 in one load, as Cqe.dw23Acquire
            int status = (int) (dw23 >>> 48);
            if ((status & STATUS_PHASE) != ph) {
                break;
            }
            int commandId = (int) (dw23 >>> 32) & 0xffff;
            int cid = commandId & slotMask;
            int sqHead = (int) dw23 & 0xffff;
            int sqId = (int) (dw23 >>> 16) & 0xffff;
            if (cid >= slots.length || slots[cid].state == FREE || slots[cid].commandId != commandId) {
                throw new IllegalStateException("completion for command ID " + commandId + " on queue " + qid
                        + ", which is not outstanding");
            }
            if (sqHead >= entries || sqId != qid) {
                throw new IllegalStateException("completion on queue " + qid + " reports SQ head " + sqHead
                        + " of SQ " + sqId);
            }
            if (++head == entries) {
                head = 0;
                ph ^= 1;
            }
            Slot r = slots[cid];
            int dw0 = Raw.getInt(base);
            cqHead = head;
            phase = ph;
            n++;
            completed(r, dw0, status & ~STATUS_PHASE);
        }
        if (n > 0) {
            // SAFETY: the doorbell is inside the caller's register window.
            Raw.putIntRelease(cqDoorbell, cqHead);
        }
        return n;
    }

    private void completed(Slot r, int dw0, int statusField) {
        doneContext[doneCount] = r.context;
        doneTag[doneCount] = r.tag;
        int sc = (statusField >>> 1) & 0xff;
        int sct = (statusField >>> 9) & 0x7;
        doneStatus[doneCount] = sc == 0 && sct == 0 ? 0 : (statusField & 1 << 15) | sct << 8 | sc;
        doneCount++;
        free(r);
    }

    private void free(Slot r) {
        if (r.state == FREE) {
            throw new IllegalStateException("command " + r.cid + " of queue " + qid + " freed twice");
        }
        r.state = FREE;
        r.context = null;
        freeCids[freeCount++] = r.cid;
    }
}
