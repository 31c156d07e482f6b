package dev.ferrum.nvme.mock;

import java.lang.foreign.MemorySegment;

import static dev.ferrum.nvme.mock.Layout.SQE_CDW10;
import static dev.ferrum.nvme.mock.Layout.SQE_CDW11;
import static dev.ferrum.nvme.mock.Layout.SQE_CDW12;
import static dev.ferrum.nvme.mock.Layout.SQE_CDW13;
import static dev.ferrum.nvme.mock.Layout.SQE_CDW14;
import static dev.ferrum.nvme.mock.Layout.SQE_CDW15;
import static dev.ferrum.nvme.mock.Layout.SQE_DW0;
import static dev.ferrum.nvme.mock.Layout.SQE_NSID;
import static dev.ferrum.nvme.mock.Layout.SQE_PRP1;
import static dev.ferrum.nvme.mock.Layout.SQE_PRP2;
import static dev.ferrum.nvme.mock.Layout.U32;
import static dev.ferrum.nvme.mock.Layout.U64;

/**
 * The submission queue entry being executed, decoded once into fields; reused for every command (the controller
 * executes one command at a time on its thread), so the hot path does not allocate.
 *
 * <p>Invariants: after {@link #load}, every field reflects the entry and the result fields are cleared.
 */
final class Command {
    SubmissionQueue sq;
    int opcode;
    int flags;
    int cid;
    int nsid;
    long prp1;
    long prp2;
    int cdw10;
    int cdw11;
    int cdw12;
    int cdw13;
    int cdw14;
    int cdw15;
    /** Result: completion DW0. */
    int result;
    /** Result: the LBA an error refers to (for the Error Information log), 0 if none. */
    long errorLba;
    /** Where the entry was read from (the ring, or a held copy), to copy it if the command is held. */
    MemorySegment source;
    long sourceOffset;

    /** Decodes the 64-byte entry at {@code offset} of {@code s} (plain reads: the doorbell read was acquire). */
    void load(SubmissionQueue queue, MemorySegment s, long offset) {
        int dw0 = (int) U32.get(s, offset + SQE_DW0);
        sq = queue;
        source = s;
        sourceOffset = offset;
        opcode = dw0 & 0xff;
        flags = (dw0 >>> 8) & 0xff;
        cid = dw0 >>> 16;
        nsid = (int) U32.get(s, offset + SQE_NSID);
        prp1 = (long) U64.get(s, offset + SQE_PRP1);
        prp2 = (long) U64.get(s, offset + SQE_PRP2);
        cdw10 = (int) U32.get(s, offset + SQE_CDW10);
        cdw11 = (int) U32.get(s, offset + SQE_CDW11);
        cdw12 = (int) U32.get(s, offset + SQE_CDW12);
        cdw13 = (int) U32.get(s, offset + SQE_CDW13);
        cdw14 = (int) U32.get(s, offset + SQE_CDW14);
        cdw15 = (int) U32.get(s, offset + SQE_CDW15);
        result = 0;
        errorLba = 0;
    }

    /** {@return whether the opcode (on an I/O queue) carries SLBA and NLB: Read, Write, Write Zeroes} */
    boolean hasLbaRange() {
        return sq.id != 0 && (opcode == IoCommands.READ || opcode == IoCommands.WRITE
                || opcode == IoCommands.WRITE_ZEROES);
    }

    /** {@return the starting LBA, CDW11:CDW10} */
    long slba() {
        return (cdw10 & 0xffffffffL) | (long) cdw11 << 32;
    }

    /** {@return the number of logical blocks, the 0's based NLB field plus one} */
    int blocks() {
        return (cdw12 & 0xffff) + 1;
    }

    /** {@return this command as a public view (allocates: only for fault injection and recording)} */
    CommandView view() {
        boolean lba = hasLbaRange();
        return new CommandView(sq.id, cid, opcode, nsid, lba ? slba() : 0, lba ? blocks() : 0, prp1, prp2, cdw10,
                cdw11, cdw12);
    }
}
