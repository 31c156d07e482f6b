package dev.ferrum.nvme;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Identify parsers against byte offsets typed in from the NVMe Base Specification 1.4 (figures 247 and 249),
 * not from the generated header: {@link IdentifyParsingTest} and the mock's identify data both use the header's
 * offsets, so a wrong offset there would pass both. Every field gets a value distinct from its neighbours, so a
 * parser reading one byte too early or late gets the wrong number.
 */
class IdentifySpecOffsetsTest {

    private static MemorySegment page() {
        return MemorySegment.ofArray(new byte[4096]);
    }

    private static void u8(MemorySegment d, long offset, int v) {
        d.set(ValueLayout.JAVA_BYTE, offset, (byte) v);
    }

    /** Little endian, as the spec defines every multi-byte field. */
    private static void le(MemorySegment d, long offset, long v, int bytes) {
        for (int i = 0; i < bytes; i++) {
            u8(d, offset + i, (int) (v >>> (8 * i)));
        }
    }

    private static void ascii(MemorySegment d, long offset, int length, String s) {
        byte[] b = String.format("%-" + length + "s", s).getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(MemorySegment.ofArray(b), 0, d, offset, length);
    }

    @Test
    void identifyControllerFieldsAtTheSpecsOffsets() {
        MemorySegment d = page();
        le(d, 0, 0x8086, 2);                         // VID, bytes 1:0
        le(d, 2, 0x1af4, 2);                         // SSVID, bytes 3:2
        ascii(d, 4, 20, "SERIAL-4-TO-23");           // SN, bytes 23:4
        ascii(d, 24, 40, "Model at 24 to 63");       // MN, bytes 63:24
        ascii(d, 64, 8, "FW64-71");                  // FR, bytes 71:64
        u8(d, 76, 0x55);                             // IEEE OUI's last byte, next to MDTS: must not be read as it
        u8(d, 77, 6);                                // MDTS, byte 77
        le(d, 78, 0x0203, 2);                        // CNTLID, bytes 79:78
        le(d, 80, 0x00010300, 4);                    // VER, bytes 83:80
        le(d, 256, 0xffff, 2);                       // OACS, bytes 257:256 (not decoded: must not leak into ACL)
        u8(d, 258, 7);                               // ACL, byte 258 (0's based)
        u8(d, 259, 2);                               // AERL, byte 259 (0's based)
        u8(d, 262, 31);                              // ELPE, byte 262 (0's based)
        le(d, 280, 0x1234_5678_9abcL, 8);            // TNVMCAP, bytes 295:280 (low 64 bits)
        u8(d, 512, 0x66);                            // SQES, byte 512
        u8(d, 513, 0x44);                            // CQES, byte 513
        le(d, 516, 0x0102_0304L, 4);                 // NN, bytes 519:516
        le(d, 520, 0x0004, 2);                       // ONCS, bytes 521:520: DSM only
        u8(d, 525, 1);                               // VWC, byte 525
        ascii(d, 768, 256, "nqn.2014-08.org.example:subsys"); // SUBNQN, bytes 1023:768

        ControllerInfo i = ControllerInfo.parse(d);
        assertEquals(0x8086, i.vendorId());
        assertEquals(0x1af4, i.subsystemVendorId());
        assertEquals("SERIAL-4-TO-23", i.serialNumber());
        assertEquals("Model at 24 to 63", i.modelNumber());
        assertEquals("FW64-71", i.firmwareRevision());
        assertEquals(6, i.mdts());
        assertEquals(0x0203, i.controllerId());
        assertEquals("1.3.0", i.versionString());
        assertEquals(8, i.abortLimit());
        assertEquals(3, i.asyncEventLimit());
        assertEquals(32, i.errorLogEntries());
        assertEquals(0x1234_5678_9abcL, i.totalCapacity());
        assertEquals(0x66, i.sqes());
        assertEquals(0x44, i.cqes());
        assertEquals(0x0102_0304L, i.namespaceCount());
        assertEquals(0x0004, i.oncs());
        assertTrue(i.supportsDeallocate());
        assertFalse(i.supportsWriteZeroes());
        assertTrue(i.volatileWriteCache());
        assertEquals("nqn.2014-08.org.example:subsys", i.subsystemNqn());
    }

    @Test
    void identifyControllerOncsBitThreeIsWriteZeroes() {
        MemorySegment d = page();
        u8(d, 512, 0x66);
        u8(d, 513, 0x44);
        le(d, 520, 0x0008, 2);
        ControllerInfo i = ControllerInfo.parse(d);
        assertTrue(i.supportsWriteZeroes());
        assertFalse(i.supportsDeallocate());
        assertFalse(i.volatileWriteCache());
    }

    @Test
    void identifyNamespaceFieldsAtTheSpecsOffsets() {
        MemorySegment d = page();
        le(d, 0, 1_000_000, 8);                     // NSZE, bytes 7:0
        le(d, 8, 900_000, 8);                       // NCAP, bytes 15:8
        le(d, 16, 300_000, 8);                      // NUSE, bytes 23:16
        u8(d, 24, 0xff);                            // NSFEAT, byte 24: must not be read as NLBAF
        u8(d, 25, 2);                               // NLBAF, byte 25 (0's based: three formats)
        u8(d, 26, 0x10 | 1);                        // FLBAS, byte 26: format 1 (bit 4, extended LBA, ignored)
        u8(d, 33, 1);                               // DLFEAT, byte 33: deallocated blocks read as zeroes
        for (int k = 0; k < 16; k++) {
            u8(d, 104 + k, 0xa0 + k);               // NGUID, bytes 119:104
        }
        for (int k = 0; k < 8; k++) {
            u8(d, 120 + k, 0xe0 + k);               // EUI64, bytes 127:120
        }
        // LBA Format n at 128 + 4n: MS bits 15:0, LBADS bits 23:16, RP bits 25:24.
        le(d, 128, 2L << 24 | 9L << 16 | 8, 4);     // LBAF0: 512 B data, 8 B metadata, RP 2
        le(d, 132, 12L << 16, 4);                   // LBAF1: 4096 B, no metadata, RP 0 (in use)
        le(d, 136, 3L << 24 | 13L << 16 | 64, 4);   // LBAF2: 8192 B, 64 B metadata, RP 3

        NamespaceInfo n = NamespaceInfo.parse(5, d);
        assertEquals(5, n.nsid());
        assertEquals(1_000_000, n.size());
        assertEquals(900_000, n.capacity());
        assertEquals(300_000, n.utilization());
        assertEquals(1, n.formatIndex());
        assertEquals(4096, n.blockSize());
        assertEquals(List.of(new NamespaceInfo.LbaFormat(512, 8, 2), new NamespaceInfo.LbaFormat(4096, 0, 0),
                new NamespaceInfo.LbaFormat(8192, 64, 3)), n.formats());
        assertTrue(n.deallocatedReadsZero());
        assertEquals("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", n.nguid());
        assertEquals("e0e1e2e3e4e5e6e7", n.eui64());
    }
}
