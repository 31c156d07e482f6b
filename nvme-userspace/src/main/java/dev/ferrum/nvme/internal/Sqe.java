package dev.ferrum.nvme.internal;

import dev.ferrum.sys.nvme.nvme_sqe;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Writes 64-byte submission queue entries (figure 105) into a submission queue ring. Offsets come from the spec
 * header's {@code struct nvme_sqe}; accesses are plain little-endian stores: the release-ordered doorbell write
 * that follows publishes them to the device.
 */
public final class Sqe {
    private Sqe() {}

    public static final long SIZE = nvme_sqe.sizeof();
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final long CDW0 = nvme_sqe.opc$offset();
    private static final long NSID = nvme_sqe.nsid$offset();
    private static final long CDW2 = nvme_sqe.cdw2$offset();
    private static final long MPTR = nvme_sqe.mptr$offset();
    private static final long PRP1 = nvme_sqe.prp1$offset();
    private static final long PRP2 = nvme_sqe.prp2$offset();
    private static final long CDW10 = nvme_sqe.cdw10$offset();

    /** Writes the entry at byte {@code base} of {@code sq}. CDW0 packs opcode [7:0] and command ID [31:16]. */
    public static void write(MemorySegment sq, long base, int opcode, int cid, int nsid, long prp1, long prp2,
                             int cdw10, int cdw11, int cdw12, int cdw13, int cdw14, int cdw15) {
        INT.set(sq, base + CDW0, (opcode & 0xff) | (cid << 16));
        INT.set(sq, base + NSID, nsid);
        LONG.set(sq, base + CDW2, 0L);
        LONG.set(sq, base + MPTR, 0L);
        LONG.set(sq, base + PRP1, prp1);
        LONG.set(sq, base + PRP2, prp2);
        INT.set(sq, base + CDW10, cdw10);
        INT.set(sq, base + CDW10 + 4L, cdw11);
        INT.set(sq, base + CDW10 + 8L, cdw12);
        INT.set(sq, base + CDW10 + 12L, cdw13);
        INT.set(sq, base + CDW10 + 16L, cdw14);
        INT.set(sq, base + CDW10 + 20L, cdw15);
    }
}
