package dev.ferrum.nvme;

import dev.ferrum.sys.nvme.nvme_id_ctrl;
import dev.ferrum.sys.nvme.nvme_id_ns;
import dev.ferrum.sys.nvme.nvme_lbaf;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Identify data comes from an untrusted device: the parsers validate what they use. */
class IdentifyParsingTest {

    static MemorySegment controller() {
        MemorySegment d = MemorySegment.ofArray(new byte[4096]);
        d.set(ValueLayout.JAVA_SHORT_UNALIGNED, nvme_id_ctrl.vid$offset(), (short) 0x1b36);
        put(d, nvme_id_ctrl.sn$offset(), "SN-1234             ");
        put(d, nvme_id_ctrl.mn$offset(), "QEMU NVMe Ctrl\u0001");
        put(d, nvme_id_ctrl.fr$offset(), "8.0.0   ");
        d.set(ValueLayout.JAVA_BYTE, nvme_id_ctrl.mdts$offset(), (byte) 7);
        d.set(ValueLayout.JAVA_INT_UNALIGNED, nvme_id_ctrl.ver$offset(), 0x00010400);
        d.set(ValueLayout.JAVA_BYTE, nvme_id_ctrl.sqes$offset(), (byte) 0x66);
        d.set(ValueLayout.JAVA_BYTE, nvme_id_ctrl.cqes$offset(), (byte) 0x44);
        d.set(ValueLayout.JAVA_INT_UNALIGNED, nvme_id_ctrl.nn$offset(), 256);
        d.set(ValueLayout.JAVA_SHORT_UNALIGNED, nvme_id_ctrl.oncs$offset(), (short) 0x0c);
        d.set(ValueLayout.JAVA_BYTE, nvme_id_ctrl.aerl$offset(), (byte) 3);
        return d;
    }

    static void put(MemorySegment d, long offset, String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        MemorySegment.copy(MemorySegment.ofArray(b), 0, d, offset, b.length);
    }

    @Test
    void controllerFieldsDecode() {
        ControllerInfo i = ControllerInfo.parse(controller());
        assertEquals(0x1b36, i.vendorId());
        assertEquals("SN-1234", i.serialNumber());
        assertEquals("QEMU NVMe Ctrl?", i.modelNumber(), "unprintable bytes are replaced");
        assertEquals("8.0.0", i.firmwareRevision());
        assertEquals("1.4.0", i.versionString());
        assertEquals(4096L << 7, i.maxTransferBytes(4096));
        assertEquals(256, i.namespaceCount());
        assertTrue(i.supportsDeallocate());
        assertTrue(i.supportsWriteZeroes());
        assertEquals(4, i.asyncEventLimit());
    }

    @Test
    void controllerWithUnusableEntrySizesIsRefused() {
        MemorySegment d = controller();
        d.set(ValueLayout.JAVA_BYTE, nvme_id_ctrl.sqes$offset(), (byte) 0x77);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControllerInfo.parse(d));
        assertTrue(e.getMessage().contains("SQES 0x77"), e.getMessage());
        MemorySegment c = controller();
        c.set(ValueLayout.JAVA_BYTE, nvme_id_ctrl.cqes$offset(), (byte) 0x33);
        assertThrows(IllegalArgumentException.class, () -> ControllerInfo.parse(c));
        MemorySegment m = controller();
        m.set(ValueLayout.JAVA_BYTE, nvme_id_ctrl.mdts$offset(), (byte) 200);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ControllerInfo.parse(m)).getMessage()
                .contains("MDTS 200"));
        assertThrows(IllegalArgumentException.class, () -> ControllerInfo.parse(MemorySegment.ofArray(new byte[100])));
    }

    static MemorySegment namespace(long nsze, int nlbaf, int flbas, int... lbads) {
        MemorySegment d = MemorySegment.ofArray(new byte[4096]);
        d.set(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ns.nsze$offset(), nsze);
        d.set(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ns.ncap$offset(), nsze);
        d.set(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ns.nuse$offset(), nsze / 2);
        d.set(ValueLayout.JAVA_BYTE, nvme_id_ns.nlbaf$offset(), (byte) nlbaf);
        d.set(ValueLayout.JAVA_BYTE, nvme_id_ns.flbas$offset(), (byte) flbas);
        for (int f = 0; f < lbads.length; f++) {
            d.set(ValueLayout.JAVA_BYTE, nvme_id_ns.lbaf$offset() + f * nvme_lbaf.sizeof() + nvme_lbaf.ds$offset(),
                    (byte) lbads[f]);
        }
        return d;
    }

    @Test
    void namespaceFieldsDecode() {
        NamespaceInfo n = NamespaceInfo.parse(1, namespace(1 << 20, 1, 1, 9, 12));
        assertEquals(4096, n.blockSize());
        assertEquals(1 << 20, n.size());
        assertEquals(2, n.formats().size());
        assertEquals(512, n.formats().get(0).dataSize());
        assertEquals((1L << 20) * 4096, n.sizeBytes());
        assertFalse(n.deallocatedReadsZero());
    }

    @Test
    void inconsistentNamespaceDataIsRefusedNamingTheField() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> NamespaceInfo.parse(1, namespace(0, 0, 0, 9))).getMessage().contains("inactive"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> NamespaceInfo.parse(1, namespace(100, 0, 3, 9))).getMessage().contains("format 3"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> NamespaceInfo.parse(1, namespace(100, 16, 0, 9))).getMessage().contains("NLBAF 16"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> NamespaceInfo.parse(1, namespace(100, 0, 0, 8))).getMessage().contains("512 B..64 KiB"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> NamespaceInfo.parse(1, namespace(100, 0, 0, 40))).getMessage().contains("512 B..64 KiB"));
        MemorySegment meta = namespace(100, 0, 0, 9);
        meta.set(ValueLayout.JAVA_SHORT_UNALIGNED, nvme_id_ns.lbaf$offset(), (short) 8);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NamespaceInfo.parse(1, meta)).getMessage()
                .contains("8 bytes of metadata"));
        MemorySegment over = namespace(100, 0, 0, 9);
        over.set(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ns.nuse$offset(), 101);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> NamespaceInfo.parse(1, over)).getMessage()
                .contains("inconsistent"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> NamespaceInfo.parse(1, namespace(Long.MAX_VALUE / 2, 0, 0, 12))).getMessage()
                .contains("implausible"));
    }

    @Test
    void statusDecoding() {
        assertEquals("LBA Out of Range (SCT 0x0, SC 0x80)", IoStatus.describe(0x80));
        assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, IoStatus.nvmeStatus(0x101));
        assertEquals("unknown status (SCT 0x7, SC 0xc0, do not retry)", IoStatus.describe(IoStatus.DNR | 0x7c0));
        assertEquals(NvmeStatus.UNKNOWN, NvmeStatus.of(3, 0x99));
        assertEquals(IoStatus.SUCCESS, IoStatus.fromCompletion(0));
        // CQE status field: SC in bits 8:1, SCT in 11:9, DNR bit 15
        assertEquals(IoStatus.DNR | 0x80, IoStatus.fromCompletion(0x80 << 1 | 1 << 15));
        NvmeException e = IoStatus.toException(0x80, "Read of 1 block(s) at LBA 9 on namespace 1");
        assertEquals("Read of 1 block(s) at LBA 9 on namespace 1 failed: LBA Out of Range (SCT 0x0, SC 0x80)",
                e.getMessage());
        assertTrue(IoStatus.toException(IoStatus.TIMEOUT, "x") instanceof NvmeTimeoutException);
        assertTrue(IoStatus.toException(IoStatus.CONTROLLER_FAILED, "x") instanceof ControllerFailedException);
    }
}
