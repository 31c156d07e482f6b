package dev.ferrum.nvme.internal;

import dev.ferrum.sys.nvme.nvme_sqe;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Writes 64-byte submission queue entries (figure 105) into a submission queue ring, as eight little-endian 64-bit
 * stores (dword pairs packed): every store is a checked segment access, and eight cost about half of twelve (see
 * bench/ANALYSIS.md). The ring is 64-byte aligned by construction, so unaligned-layout handles lose nothing and skip
 * a per-store alignment check. Offsets come from the spec header's {@code struct nvme_sqe}; the release-ordered
 * doorbell write that follows publishes the entry to the device.
 */
public final class Sqe {
    private Sqe() {}

    public static final long SIZE = nvme_sqe.sizeof();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)
            .varHandle();
    /** CDW0 (opcode [7:0], command ID [31:16]) and NSID. */
    private static final long CDW0_NSID = nvme_sqe.opc$offset();
    private static final long CDW2_CDW3 = nvme_sqe.cdw2$offset();
    private static final long MPTR = nvme_sqe.mptr$offset();
    private static final long PRP1 = nvme_sqe.prp1$offset();
    private static final long PRP2 = nvme_sqe.prp2$offset();
    private static final long CDW10_CDW11 = nvme_sqe.cdw10$offset();
    private static final long CDW12_CDW13 = nvme_sqe.cdw12$offset();
    private static final long CDW14_CDW15 = nvme_sqe.cdw14$offset();

    static {
        // The packing below relies on the spec layout: each pair is adjacent and 8-byte aligned.
        if (nvme_sqe.nsid$offset() != CDW0_NSID + 4 || nvme_sqe.cdw11$offset() != CDW10_CDW11 + 4
                || nvme_sqe.cdw13$offset() != CDW12_CDW13 + 4 || nvme_sqe.cdw15$offset() != CDW14_CDW15 + 4
                || SIZE != 64) {
            throw new ExceptionInInitializerError("nvme_sqe layout does not match NVMe figure 105");
        }
    }

    private static long pair(int low, int high) {
        return Integer.toUnsignedLong(low) | (long) high << 32;
    }

    /** Writes the entry at byte {@code base} of {@code sq}. */
    public static void write(MemorySegment sq, long base, int opcode, int cid, int nsid, long prp1, long prp2,
                             int cdw10, int cdw11, int cdw12, int cdw13, int cdw14, int cdw15) {
        LONG.set(sq, base + CDW0_NSID, pair((opcode & 0xff) | (cid << 16), nsid));
        LONG.set(sq, base + CDW2_CDW3, 0L);
        LONG.set(sq, base + MPTR, 0L);
        LONG.set(sq, base + PRP1, prp1);
        LONG.set(sq, base + PRP2, prp2);
        LONG.set(sq, base + CDW10_CDW11, pair(cdw10, cdw11));
        LONG.set(sq, base + CDW12_CDW13, pair(cdw12, cdw13));
        LONG.set(sq, base + CDW14_CDW15, pair(cdw14, cdw15));
    }
}
