package dev.ferrum.nvme.internal;

import dev.ferrum.sys.nvme.nvme_cqe;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Reads 16-byte completion queue entries (figure 121). DW3 (command ID [15:0], status with phase tag [31:16]) is
 * read first with acquire ordering: once its phase tag shows the entry is new, the rest of the entry, written by
 * the device before it, is visible.
 */
public final class Cqe {
    private Cqe() {}

    public static final long SIZE = nvme_cqe.sizeof();
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final long DW0 = nvme_cqe.dw0$offset();
    private static final long DW2 = nvme_cqe.sq_head$offset();
    private static final long DW3 = nvme_cqe.cid$offset();

    /** {@return DW3 of the entry at {@code base}: command ID in the low half, status field in the high half} */
    public static int dw3Acquire(MemorySegment cq, long base) {
        return (int) INT.getAcquire(cq, base + DW3);
    }

    /** {@return DW0, the command-specific result} */
    public static int dw0(MemorySegment cq, long base) {
        return (int) INT.get(cq, base + DW0);
    }

    /** {@return DW2: SQ head pointer in the low half, SQ identifier in the high half} */
    public static int dw2(MemorySegment cq, long base) {
        return (int) INT.get(cq, base + DW2);
    }
}
