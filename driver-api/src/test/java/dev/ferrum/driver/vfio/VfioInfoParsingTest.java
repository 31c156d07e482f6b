package dev.ferrum.driver.vfio;

import dev.ferrum.driver.vfio.internal.IommuInfo;
import dev.ferrum.driver.vfio.internal.RegionInfo;
import dev.ferrum.sys.linux.Linux;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parsing of what the kernel returns for {@code VFIO_DEVICE_GET_REGION_INFO} and {@code VFIO_IOMMU_GET_INFO},
 * from buffers laid out byte by byte as {@code linux/vfio.h} defines them (so the test does not share the parser's
 * view of the structures): flags, sizes, sparse-mmap areas, IOVA ranges, and malformed capability chains.
 */
class VfioInfoParsingTest {
    private static final int READ = Linux.VFIO_REGION_INFO_FLAG_READ();
    private static final int WRITE = Linux.VFIO_REGION_INFO_FLAG_WRITE();
    private static final int MMAP = Linux.VFIO_REGION_INFO_FLAG_MMAP();
    private static final int CAPS = Linux.VFIO_REGION_INFO_FLAG_CAPS();
    private static final int SPARSE = 1;  // VFIO_REGION_INFO_CAP_SPARSE_MMAP
    private static final int MSIX_MAPPABLE = 3; // VFIO_REGION_INFO_CAP_MSIX_MAPPABLE
    private static final long REGION_INFO_SIZE = 32;
    private static final long IOMMU_INFO_SIZE = 24;

    private final Arena arena = Arena.ofAuto();

    /** struct vfio_region_info: argsz, flags, index, cap_offset (u32 each), size, offset (u64). */
    private MemorySegment regionInfo(long bufferSize, int flags, int index, int capOffset, long size, long offset) {
        MemorySegment b = arena.allocate(bufferSize, 8);
        b.set(ValueLayout.JAVA_INT, 0, (int) bufferSize);
        b.set(ValueLayout.JAVA_INT, 4, flags);
        b.set(ValueLayout.JAVA_INT, 8, index);
        b.set(ValueLayout.JAVA_INT, 12, capOffset);
        b.set(ValueLayout.JAVA_LONG, 16, size);
        b.set(ValueLayout.JAVA_LONG, 24, offset);
        return b;
    }

    /** A capability header (id u16, version u16, next u32), unaligned writes allowed. */
    private static void capHeader(MemorySegment b, long at, int id, int next) {
        b.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) id);
        b.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2, (short) 1);
        b.set(ValueLayout.JAVA_INT_UNALIGNED, at + 4, next);
    }

    /** A sparse-mmap capability at {@code at}: header, nr_areas, reserved, then {offset, size} pairs. */
    private static void sparse(MemorySegment b, long at, int next, long... offsetSizePairs) {
        capHeader(b, at, SPARSE, next);
        b.set(ValueLayout.JAVA_INT_UNALIGNED, at + 8, offsetSizePairs.length / 2);
        for (int i = 0; i < offsetSizePairs.length; i++) {
            b.set(ValueLayout.JAVA_LONG_UNALIGNED, at + 16 + 8L * i, offsetSizePairs[i]);
        }
    }

    @Test
    void aPlainMappableRegionIsMappableWhole() {
        RegionInfo r = RegionInfo.parse(regionInfo(REGION_INFO_SIZE, READ | WRITE | MMAP, 0, 0, 0x4000, 0), "t");
        assertEquals(0x4000, r.size());
        assertTrue(r.readable() && r.writable() && r.mmap());
        assertNull(r.sparseAreas());
        assertEquals(0x4000, r.mappablePrefix());
    }

    @Test
    void aRegionWithoutTheMmapFlagIsNotMappable() {
        RegionInfo r = RegionInfo.parse(regionInfo(REGION_INFO_SIZE, READ | WRITE, 7, 0, 4096,
                7L << 40), "t");
        assertEquals(0, r.mappablePrefix());
        assertEquals(7L << 40, r.offset(), "the config region's offset in the device file");
        assertEquals(0, RegionInfo.parse(regionInfo(REGION_INFO_SIZE, 0, 1, 0, 0, 0), "t").mappablePrefix(),
                "an unimplemented BAR");
    }

    @Test
    void sparseMmapGivesTheMappablePrefixUpToTheFirstHole() {
        // A BAR whose MSI-X table at 0x2000..0x3000 may not be mapped: areas [0, 0x2000) and [0x3000, 0x4000).
        MemorySegment b = regionInfo(REGION_INFO_SIZE + 48, READ | WRITE | MMAP | CAPS, 0, 32, 0x4000, 0);
        sparse(b, 32, 0, 0x3000, 0x1000, 0, 0x2000);
        RegionInfo r = RegionInfo.parse(b, "t");
        assertEquals(List.of(new RegionInfo.Area(0x3000, 0x1000), new RegionInfo.Area(0, 0x2000)), r.sparseAreas());
        assertEquals(0x2000, r.mappablePrefix(), "areas are sorted; the prefix stops at the hole");
    }

    @Test
    void adjacentSparseAreasJoinAndAnAreaNotAtZeroGivesNoPrefix() {
        MemorySegment joined = regionInfo(REGION_INFO_SIZE + 48, READ | MMAP | CAPS, 0, 32, 0x4000, 0);
        sparse(joined, 32, 0, 0, 0x1000, 0x1000, 0x3000);
        assertEquals(0x4000, RegionInfo.parse(joined, "t").mappablePrefix());

        MemorySegment late = regionInfo(REGION_INFO_SIZE + 32, READ | MMAP | CAPS, 0, 32, 0x4000, 0);
        sparse(late, 32, 0, 0x1000, 0x3000);
        assertEquals(0, RegionInfo.parse(late, "t").mappablePrefix());

        MemorySegment none = regionInfo(REGION_INFO_SIZE + 16, READ | MMAP | CAPS, 0, 32, 0x4000, 0);
        sparse(none, 32, 0);
        assertEquals(List.of(), RegionInfo.parse(none, "t").sparseAreas());
        assertEquals(0, RegionInfo.parse(none, "t").mappablePrefix(), "a sparse capability without areas");
    }

    @Test
    void otherCapabilitiesAreSkippedEvenWhenTheNextOneIsMisalignedFor64BitFields() {
        // MSIX_MAPPABLE (a bare 8-byte header) at 32, then a 4-byte gap, then sparse-mmap at 44 (4 mod 8).
        MemorySegment b = regionInfo(REGION_INFO_SIZE + 12 + 32, READ | MMAP | CAPS, 0, 32, 0x4000, 0);
        capHeader(b, 32, MSIX_MAPPABLE, 44);
        sparse(b, 44, 0, 0, 0x1000);
        assertEquals(0x1000, RegionInfo.parse(b, "t").mappablePrefix());
    }

    @Test
    void capsFlagWithoutAnOffsetMeansTheyDidNotFit() {
        RegionInfo r = RegionInfo.parse(regionInfo(REGION_INFO_SIZE, READ | MMAP | CAPS, 0, 0, 0x4000, 0), "t");
        assertNull(r.sparseAreas());
        assertEquals(0x4000, r.mappablePrefix());
    }

    @Test
    void malformedChainsAreRefusedNotFollowed() {
        MemorySegment loop = regionInfo(REGION_INFO_SIZE + 16, READ | MMAP | CAPS, 0, 32, 0x4000, 0);
        capHeader(loop, 32, MSIX_MAPPABLE, 32);
        assertThrows(IllegalStateException.class, () -> RegionInfo.parse(loop, "t"), "a chain that loops");

        MemorySegment outside = regionInfo(REGION_INFO_SIZE, READ | MMAP | CAPS, 0, 64, 0x4000, 0);
        assertThrows(IllegalStateException.class, () -> RegionInfo.parse(outside, "t"), "a cap outside the buffer");

        MemorySegment inHeader = regionInfo(REGION_INFO_SIZE + 16, READ | MMAP | CAPS, 0, 8, 0x4000, 0);
        assertThrows(IllegalStateException.class, () -> RegionInfo.parse(inHeader, "t"),
                "a cap inside the fixed structure");

        MemorySegment tooMany = regionInfo(REGION_INFO_SIZE + 32, READ | MMAP | CAPS, 0, 32, 0x4000, 0);
        sparse(tooMany, 32, 0, 0, 0x1000);
        tooMany.set(ValueLayout.JAVA_INT, 40, 1000);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> RegionInfo.parse(tooMany, "t"));
        assertTrue(e.getMessage().contains("claims 1000 entries"), e.getMessage());
    }

    /** struct vfio_iommu_type1_info: argsz, flags (u32), iova_pgsizes (u64), cap_offset, pad (u32). */
    private MemorySegment iommuInfo(long bufferSize, int flags, long pgsizes, int capOffset) {
        MemorySegment b = arena.allocate(bufferSize, 8);
        b.set(ValueLayout.JAVA_INT, 0, (int) bufferSize);
        b.set(ValueLayout.JAVA_INT, 4, flags);
        b.set(ValueLayout.JAVA_LONG, 8, pgsizes);
        b.set(ValueLayout.JAVA_INT, 16, capOffset);
        return b;
    }

    /** As Linux 6.1 lays it out: migration cap (32 bytes), DMA-available cap (12), then the IOVA ranges at 68. */
    private MemorySegment iommuInfoWithRanges(long... startEndPairs) {
        int pgsizes = Linux.VFIO_IOMMU_INFO_PGSIZES();
        int caps = Linux.VFIO_IOMMU_INFO_CAPS();
        MemorySegment b = iommuInfo(IOMMU_INFO_SIZE + 32 + 12 + 16 + 8L * startEndPairs.length,
                pgsizes | caps, 0x40201000L, 24);
        capHeader(b, 24, 2, 56);
        capHeader(b, 56, 3, 68);
        b.set(ValueLayout.JAVA_INT_UNALIGNED, 64, 65535);
        capHeader(b, 68, Linux.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE(), 0);
        b.set(ValueLayout.JAVA_INT_UNALIGNED, 76, startEndPairs.length / 2);
        for (int i = 0; i < startEndPairs.length; i++) {
            b.set(ValueLayout.JAVA_LONG_UNALIGNED, 84 + 8L * i, startEndPairs[i]);
        }
        return b;
    }

    @Test
    void iovaRangesAtAnUnalignedOffsetAreReadAndTheLargestUsableOneIsTheWindow() {
        IommuInfo info = IommuInfo.parse(iommuInfoWithRanges(0, 0xfedf_ffffL, 0xfef0_0000L, 0x7f_ffff_ffffL), "t");
        assertEquals(List.of(new IommuInfo.Range(0, 0xfedf_ffffL), new IommuInfo.Range(0xfef0_0000L,
                0x7f_ffff_ffffL)), info.iovaRanges());
        assertEquals(4096, info.minPageSize(), "lowest bit of 4K|2M|1G");
        long[] w = info.window();
        assertEquals(0xff00_0000L, w[0], "above the MSI window, 2 MiB aligned");
        assertEquals(0x80_0000_0000L, w[1], "the end is inclusive: limit is end + 1");
    }

    @Test
    void rangesAreClippedToTheDefaultBaseAndTo63Bits() {
        long[] low = IommuInfo.parse(iommuInfoWithRanges(0, 0x3fff_ffffL), "t").window();
        assertEquals(IommuInfo.DEFAULT_BASE, low[0], "never below 256 MiB");
        assertEquals(0x4000_0000L, low[1]);
        long[] huge = IommuInfo.parse(iommuInfoWithRanges(0x1_0000_0000L, -1L), "t").window();
        assertEquals(0x1_0000_0000L, huge[0]);
        assertEquals(Long.MAX_VALUE & -(2L << 20), huge[1], "an end of 2^64-1 is clipped");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> IommuInfo.parse(iommuInfoWithRanges(0, 0xfff_ffffL), "t").window());
        assertTrue(e.getMessage().contains("no usable IOVA range"), e.getMessage());
    }

    @Test
    void withoutCapabilitiesTheDocumentedDefaultWindowIsUsed() {
        IommuInfo info = IommuInfo.parse(iommuInfo(IOMMU_INFO_SIZE, 0, 0, 0), "t");
        assertEquals(List.of(), info.iovaRanges());
        assertEquals(4096, info.minPageSize());
        long[] w = info.window();
        assertEquals(0x1000_0000L, w[0]);
        assertEquals(1L << 39, w[1]);
    }
}
