package dev.ferrum.nvme.mock;

import dev.ferrum.sys.nvme.nvme_cqe;
import dev.ferrum.sys.nvme.nvme_sqe;

import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Little-endian access handles and queue entry offsets shared by the mock controller's classes. Offsets come from
 * the jextract bindings of {@code nvme.h}, so the driver and the model agree on the layout. All offsets are
 * {@code long}: a segment VarHandle called with an {@code int} offset takes a slow generic path.
 */
final class Layout {
    private Layout() {}

    static final VarHandle U8 = ValueLayout.JAVA_BYTE.varHandle();
    static final VarHandle U16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle U64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    /** For fields the spec leaves unaligned (the packed SMART log). */
    static final VarHandle U16_UNALIGNED =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle U32_UNALIGNED =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    static final VarHandle U64_UNALIGNED =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    static final long SQE_SIZE = nvme_sqe.sizeof();
    static final int SQE_SHIFT = 6;
    static final long SQE_DW0 = nvme_sqe.opc$offset();
    static final long SQE_NSID = nvme_sqe.nsid$offset();
    static final long SQE_PRP1 = nvme_sqe.prp1$offset();
    static final long SQE_PRP2 = nvme_sqe.prp2$offset();
    static final long SQE_CDW10 = nvme_sqe.cdw10$offset();
    static final long SQE_CDW11 = nvme_sqe.cdw11$offset();
    static final long SQE_CDW12 = nvme_sqe.cdw12$offset();
    static final long SQE_CDW13 = nvme_sqe.cdw13$offset();
    static final long SQE_CDW14 = nvme_sqe.cdw14$offset();
    static final long SQE_CDW15 = nvme_sqe.cdw15$offset();

    static final long CQE_SIZE = nvme_cqe.sizeof();
    static final int CQE_SHIFT = 4;
    static final long CQE_DW0 = nvme_cqe.dw0$offset();
    static final long CQE_DW1 = nvme_cqe.dw1$offset();
    /** SQ head (bits 15:0) and SQ identifier (bits 31:16). */
    static final long CQE_DW2 = nvme_cqe.sq_head$offset();
    /** Command identifier (bits 15:0) and status with phase tag (bits 31:16): written last. */
    static final long CQE_DW3 = nvme_cqe.cid$offset();

    static {
        if (SQE_SIZE != 1L << SQE_SHIFT || CQE_SIZE != 1L << CQE_SHIFT || SQE_NSID != 4 || CQE_DW3 != 12
                || nvme_cqe.status$offset() != 14 || nvme_cqe.sq_id$offset() != 10) {
            throw new ExceptionInInitializerError("nvme.h queue entry layout disagrees with NVMe 1.4");
        }
    }
}
