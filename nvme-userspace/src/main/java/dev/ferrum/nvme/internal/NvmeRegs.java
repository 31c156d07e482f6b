package dev.ferrum.nvme.internal;

import dev.ferrum.memory.Field;
import dev.ferrum.memory.Register32;
import dev.ferrum.memory.Register64;
import dev.ferrum.sys.nvme.Nvme;

/**
 * NVMe controller registers (NVM Express Base Specification 1.4, section 3.1) as typed definitions. Offsets come
 * from the spec header ({@code native/include/nvme.h}); field positions from the register figures. Shared by the
 * driver and the mock controller, which are otherwise written independently from the spec.
 */
public final class NvmeRegs {
    private NvmeRegs() {}

    /** Controller Capabilities (figure 69). */
    public static final Register64 CAP = Register64.at(Nvme.NVME_REG_CAP(), "CAP");
    /** Maximum Queue Entries Supported, 0's based. */
    public static final Field CAP_MQES = CAP.field("MQES", 0, 16);
    /** Contiguous Queues Required. */
    public static final Field CAP_CQR = CAP.field("CQR", 16, 1);
    /** Arbitration Mechanism Supported. */
    public static final Field CAP_AMS = CAP.field("AMS", 17, 2);
    /** Timeout: worst-case time for CSTS.RDY to change, in 500 ms units. */
    public static final Field CAP_TO = CAP.field("TO", 24, 8);
    /** Doorbell Stride: doorbells are {@code 4 << DSTRD} bytes apart. */
    public static final Field CAP_DSTRD = CAP.field("DSTRD", 32, 4);
    /** NVM Subsystem Reset Supported. */
    public static final Field CAP_NSSRS = CAP.field("NSSRS", 36, 1);
    /** Command Sets Supported; bit 0 (CAP bit 37) is the NVM command set. */
    public static final Field CAP_CSS = CAP.field("CSS", 37, 8);
    /** Memory Page Size Minimum: {@code 2 ^ (12 + MPSMIN)}. */
    public static final Field CAP_MPSMIN = CAP.field("MPSMIN", 48, 4);
    /** Memory Page Size Maximum. */
    public static final Field CAP_MPSMAX = CAP.field("MPSMAX", 52, 4);

    /** Version (figure 70): major [31:16], minor [15:8], tertiary [7:0]. */
    public static final Register32 VS = Register32.at(Nvme.NVME_REG_VS(), "VS");
    public static final Register32 INTMS = Register32.at(Nvme.NVME_REG_INTMS(), "INTMS");
    public static final Register32 INTMC = Register32.at(Nvme.NVME_REG_INTMC(), "INTMC");

    /** Controller Configuration (figure 73). */
    public static final Register32 CC = Register32.at(Nvme.NVME_REG_CC(), "CC");
    public static final Field CC_EN = CC.field("EN", 0, 1);
    /** I/O Command Set Selected: 0 = NVM command set. */
    public static final Field CC_CSS = CC.field("CSS", 4, 3);
    /** Memory Page Size: {@code 2 ^ (12 + MPS)}. */
    public static final Field CC_MPS = CC.field("MPS", 7, 4);
    /** Arbitration Mechanism Selected: 0 = round robin. */
    public static final Field CC_AMS = CC.field("AMS", 11, 3);
    /** Shutdown Notification: 1 = normal, 2 = abrupt. */
    public static final Field CC_SHN = CC.field("SHN", 14, 2);
    /** I/O Submission Queue Entry Size, as 2^n (6 for 64 bytes). */
    public static final Field CC_IOSQES = CC.field("IOSQES", 16, 4);
    /** I/O Completion Queue Entry Size, as 2^n (4 for 16 bytes). */
    public static final Field CC_IOCQES = CC.field("IOCQES", 20, 4);

    /** Controller Status (figure 74). */
    public static final Register32 CSTS = Register32.at(Nvme.NVME_REG_CSTS(), "CSTS");
    public static final Field CSTS_RDY = CSTS.field("RDY", 0, 1);
    /** Controller Fatal Status. */
    public static final Field CSTS_CFS = CSTS.field("CFS", 1, 1);
    /** Shutdown Status: 0 normal operation, 1 processing, 2 complete. */
    public static final Field CSTS_SHST = CSTS.field("SHST", 2, 2);

    /** Admin Queue Attributes (figure 76), both sizes 0's based. */
    public static final Register32 AQA = Register32.at(Nvme.NVME_REG_AQA(), "AQA");
    public static final Field AQA_ASQS = AQA.field("ASQS", 0, 12);
    public static final Field AQA_ACQS = AQA.field("ACQS", 16, 12);
    public static final Register64 ASQ = Register64.at(Nvme.NVME_REG_ASQ(), "ASQ");
    public static final Register64 ACQ = Register64.at(Nvme.NVME_REG_ACQ(), "ACQ");

    public static final int SHN_NORMAL = 1;
    public static final int SHN_ABRUPT = 2;
    public static final int SHST_NORMAL = 0;
    public static final int SHST_OCCURRING = 1;
    public static final int SHST_COMPLETE = 2;

    /** Offset of the first doorbell register. */
    public static final long DOORBELL_BASE = Nvme.NVME_REG_DBS();

    /** {@return the offset of queue {@code qid}'s submission queue tail doorbell} */
    public static long sqTailDoorbell(int qid, int dstrd) {
        return DOORBELL_BASE + (2L * qid) * (4L << dstrd);
    }

    /** {@return the offset of queue {@code qid}'s completion queue head doorbell} */
    public static long cqHeadDoorbell(int qid, int dstrd) {
        return DOORBELL_BASE + (2L * qid + 1) * (4L << dstrd);
    }

    /** Completion status field (CQE DW3 [31:16]): bit 0 is the phase tag. */
    public static final int STATUS_PHASE = 1;

    /** {@return the status code (SC) of a CQE status field} */
    public static int statusCode(int status) {
        return (status >>> 1) & 0xff;
    }

    /** {@return the status code type (SCT) of a CQE status field} */
    public static int statusCodeType(int status) {
        return (status >>> 9) & 0x7;
    }

    /** {@return whether the Do Not Retry bit of a CQE status field is set} */
    public static boolean doNotRetry(int status) {
        return (status & (1 << 15)) != 0;
    }

    /** {@return a CQE status field (without phase) for SCT/SC, with Do Not Retry set as given} */
    public static int status(int sct, int sc, boolean dnr) {
        return (sc & 0xff) << 1 | (sct & 0x7) << 9 | (dnr ? 1 << 15 : 0);
    }
}
