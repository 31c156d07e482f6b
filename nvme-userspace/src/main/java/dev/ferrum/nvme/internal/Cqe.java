package dev.ferrum.nvme.internal;

import dev.ferrum.sys.nvme.nvme_cqe;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Reads 16-byte completion queue entries (figure 121). DW2 (SQ head, SQ ID) and DW3 (command ID, status with the
 * phase tag) are read together in one 64-bit acquire load: the load is single-copy atomic (8-byte aligned: entries
 * are 16-byte aligned in a page-aligned ring) and the device writes DW3 last, so when the phase tag shows the entry
 * is new, DW2 is new too, and the acquire makes DW0, written before, visible as well.
 */
public final class Cqe {
    private Cqe() {}

    public static final long SIZE = nvme_cqe.sizeof();
    private static final VarHandle INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)
            .varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final long DW0 = nvme_cqe.dw0$offset();
    private static final long DW2 = nvme_cqe.sq_head$offset();

    static {
        if (nvme_cqe.cid$offset() != DW2 + 4 || DW2 != 8 || SIZE != 16) {
            throw new ExceptionInInitializerError("nvme_cqe layout does not match NVMe figure 121");
        }
    }

    /**
     * {@return DW2 and DW3 of the entry at {@code base}, acquire-ordered: DW2 (SQ head [15:0], SQ ID [31:16]) in the
     * low half, DW3 (command ID [15:0], status and phase [31:16]) in the high half}
     */
    public static long dw23Acquire(MemorySegment cq, long base) {
        return (long) LONG.getAcquire(cq, base + DW2);
    }

    /** {@return DW0, the command-specific result} */
    public static int dw0(MemorySegment cq, long base) {
        return (int) INT.get(cq, base + DW0);
    }
}
