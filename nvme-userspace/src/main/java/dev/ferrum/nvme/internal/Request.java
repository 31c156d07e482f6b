package dev.ferrum.nvme.internal;

import dev.ferrum.memory.DmaBuffer;

/**
 * One command slot of a queue, indexed by its command ID, preallocated and reused (no allocation per command).
 * It keeps what is needed to resubmit the command after a controller reset, to time it out, and to report its
 * completion exactly once.
 *
 * <p>Invariants (kept by {@link Queue}): a slot is {@link #FREE} exactly when its command ID is on the free stack;
 * a pinned buffer is unpinned exactly once, when the slot is freed.
 */
public final class Request {
    public static final int FREE = 0;
    public static final int IN_FLIGHT = 1;
    /** Timed out; an Abort was sent and the command has not completed yet. */
    public static final int ABORTING = 2;

    /** The slot index (0 to capacity - 1): indexes the queue's per-slot resources. */
    public final int cid;
    /**
     * The command identifier on the wire: the slot index in the low bits, a generation that changes with every
     * allocation of the slot in the bits above (see {@link Queue}). Valid while the slot is allocated.
     */
    public int commandId;
    /** Generation of the current allocation. */
    int generation;
    public int state = FREE;

    // The command, kept for resubmission.
    public int opcode;
    public int nsid;
    public long prp1;
    public long prp2;
    public int cdw10;
    public int cdw11;
    public int cdw12;
    public int cdw13;
    public int cdw14;
    public int cdw15;

    /** The data buffer pinned for this command, or null. */
    public DmaBuffer pinned;
    public long submittedNanos;
    public long deadlineNanos;
    public int retries;
    /** Whatever the owner attaches (completion target); cleared when freed. */
    public Object context;
    public long tag;
    /** Admin results: completion DW0 and status field, valid once completed. */
    public int dw0;
    public int status;
    /** Opt-in JFR event, or null. */
    public Object event;

    Request(int cid) {
        this.cid = cid;
    }

    /** Records the command to send. */
    public void command(int opcode, int nsid, long prp1, long prp2, int cdw10, int cdw11, int cdw12, int cdw13,
                        int cdw14, int cdw15) {
        this.opcode = opcode;
        this.nsid = nsid;
        this.prp1 = prp1;
        this.prp2 = prp2;
        this.cdw10 = cdw10;
        this.cdw11 = cdw11;
        this.cdw12 = cdw12;
        this.cdw13 = cdw13;
        this.cdw14 = cdw14;
        this.cdw15 = cdw15;
    }
}
