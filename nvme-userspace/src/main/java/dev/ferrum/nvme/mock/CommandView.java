package dev.ferrum.nvme.mock;

import java.util.function.Predicate;

/**
 * A command as the {@link MockNvmeController} fetched it from a submission queue: what the driver sent. Fault
 * injection rules match on it, and {@link MockNvmeController#heldCommands()} and
 * {@link MockNvmeController#recordedCommands()} report commands this way.
 *
 * <p>Invariants: every field is the raw value from the submission queue entry except {@link #slba} and
 * {@link #blocks}, which are decoded for the commands that have them (Read, Write, Write Zeroes) and 0 otherwise.
 *
 * @param queueId   submission queue ID (0 is the admin queue)
 * @param commandId command identifier (CID, CDW0 bits 31:16)
 * @param opcode    opcode (admin opcodes on queue 0, NVM command set opcodes on I/O queues)
 * @param nsid      namespace ID
 * @param slba      starting LBA (CDW11:CDW10) for Read, Write and Write Zeroes; 0 for other commands
 * @param blocks    number of logical blocks for Read, Write and Write Zeroes: the 0's based NLB field (CDW12
 *                  bits 15:0) plus one; 0 for other commands
 * @param prp1      data pointer, PRP entry 1
 * @param prp2      data pointer, PRP entry 2
 * @param cdw10     command dword 10
 * @param cdw11     command dword 11
 * @param cdw12     command dword 12
 */
public record CommandView(int queueId, int commandId, int opcode, int nsid, long slba, int blocks, long prp1,
                          long prp2, int cdw10, int cdw11, int cdw12) {

    /** {@return whether this is an admin command (submitted on queue 0)} */
    public boolean isAdmin() {
        return queueId == 0;
    }

    /** {@return a predicate matching admin commands with this opcode} */
    public static Predicate<CommandView> admin(int opcode) {
        return c -> c.queueId == 0 && c.opcode == opcode;
    }

    /** {@return a predicate matching I/O commands (any I/O queue) with this opcode} */
    public static Predicate<CommandView> io(int opcode) {
        return c -> c.queueId != 0 && c.opcode == opcode;
    }

    /** {@return a predicate matching every I/O command} */
    public static Predicate<CommandView> anyIo() {
        return c -> c.queueId != 0;
    }

    /** {@return a predicate matching every command} */
    public static Predicate<CommandView> any() {
        return c -> true;
    }

    @Override
    public String toString() {
        return String.format("CommandView[sq=%d cid=%d opc=0x%02x nsid=%d slba=%d blocks=%d prp1=0x%x prp2=0x%x "
                + "cdw10=0x%x cdw11=0x%x cdw12=0x%x]", queueId, commandId, opcode, nsid, slba, blocks, prp1, prp2,
                cdw10, cdw11, cdw12);
    }
}
