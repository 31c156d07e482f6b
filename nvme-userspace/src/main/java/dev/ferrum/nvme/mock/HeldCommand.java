package dev.ferrum.nvme.mock;

import java.lang.foreign.MemorySegment;

/**
 * A command the controller holds instead of completing at once: delayed or dropped by fault injection, or a
 * completion waiting for room in its completion queue (after an abort, an SQ deletion, or a duplicate completion).
 * Allocated only on these exceptional paths.
 *
 * <p>Invariants: {@code sqe} is a private copy of the 64-byte entry (the host may reuse the ring slot);
 * {@code status < 0} means "execute the copy when due", otherwise complete with that status without executing.
 */
final class HeldCommand {
    final SubmissionQueue sq;
    final CommandView view;
    final MemorySegment sqe;
    final int cid;
    final int opcode;
    final int nsid;
    final long lba;
    /** System.nanoTime() when due; ignored while {@link #dropped}. */
    long due;
    boolean dropped;
    int status = -1;
    int result;
    CompletionCorruption corruption;

    /** Holds the command {@code c} is executing (copying its entry). */
    HeldCommand(Command c, CommandView view) {
        this.sq = c.sq;
        this.view = view;
        this.sqe = MemorySegment.ofArray(new long[(int) (Layout.SQE_SIZE / Long.BYTES)]);
        MemorySegment.copy(c.source, c.sourceOffset, sqe, 0, Layout.SQE_SIZE);
        this.cid = c.cid;
        this.opcode = c.opcode;
        this.nsid = c.nsid;
        this.lba = c.hasLbaRange() ? c.slba() : 0;
    }

    /** A completion waiting for room in its completion queue. */
    HeldCommand(SubmissionQueue sq, CommandView view, int cid, int opcode, int nsid, long lba, int status,
                int result) {
        this.sq = sq;
        this.view = view;
        this.sqe = null;
        this.cid = cid;
        this.opcode = opcode;
        this.nsid = nsid;
        this.lba = lba;
        this.status = status;
        this.result = result;
        this.due = Long.MIN_VALUE;
    }

    /** {@return whether the completion may be posted now} */
    boolean isDue(long now) {
        return !dropped && (due == Long.MIN_VALUE || now - due >= 0);
    }
}
