package dev.ferrum.driver.vfio;

import dev.ferrum.driver.vfio.internal.NoIommuAddressSpace;
import dev.ferrum.driver.vfio.internal.Pagemap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.LongUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No-IOMMU mode's physical addresses, from a fake {@code /proc/self/pagemap}: one little-endian 64-bit entry per
 * 4 KiB virtual page at offset {@code vaddr / 4096 * 8}, written sparsely into a temporary file. The end-to-end
 * no-IOMMU path cannot run here or in the test VM (no {@code CONFIG_VFIO_NOIOMMU}); this covers its logic.
 */
class PagemapTest {
    private static final long HUGE = 2L << 20;
    private static final long VA = 0x4000_0000L;            // a 2 MiB aligned virtual address
    private static final long PFN = 0x12400L;                // physical 0x12400000, 2 MiB aligned

    @TempDir
    Path dir;

    /** Writes the 512 entries of the huge page at {@code va}: entry i = {@code entry.applyAsLong(i)}. */
    private Pagemap pagemap(long va, LongUnaryOperator entry) throws IOException {
        Path file = dir.resolve("pagemap");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(512 * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 512; i++) {
                b.putLong(entry.applyAsLong(i));
            }
            b.flip();
            ch.write(b, (va >>> 12) * 8);
        }
        return new Pagemap(file);
    }

    private static long hugePageEntry(long i) {
        return Pagemap.PRESENT | (PFN + i);
    }

    @Test
    void aBufferInsideOneHugePageGetsItsPhysicalAddress() throws IOException {
        Pagemap pm = pagemap(VA, PagemapTest::hugePageEntry);
        assertEquals(PFN * 4096, pm.physicalAddress(VA, HUGE));
        assertEquals(PFN * 4096 + 0x3000, pm.physicalAddress(VA + 0x3000, 0x5000));
        assertEquals(PFN * 4096 + HUGE - 4096, pm.physicalAddress(VA + HUGE - 4096, 4096));
    }

    @Test
    void memoryThatIsNotOneContiguousAlignedHugePageIsRefused() throws IOException {
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class,
                () -> pagemap(VA, i -> hugePageEntry(i == 300 ? 1000 : i)).physicalAddress(VA, 4096));
        assertTrue(gap.getMessage().contains("not physically contiguous (page 300 is frame 0x127e8, expected 0x1252c)"),
                gap.getMessage());
        assertTrue(gap.getMessage().contains("HugePages.REQUIRE"), gap.getMessage());

        IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class,
                () -> pagemap(VA, i -> Pagemap.PRESENT | (PFN + 1 + i)).physicalAddress(VA, 4096));
        assertTrue(misaligned.getMessage().contains("not 2 MiB aligned"), misaligned.getMessage());
    }

    @Test
    void pagesThatAreNotPresentOrSwappedAreRefused() throws IOException {
        IllegalArgumentException absent = assertThrows(IllegalArgumentException.class,
                () -> pagemap(VA, i -> i == 511 ? 0 : hugePageEntry(i)).physicalAddress(VA, 4096));
        assertTrue(absent.getMessage().contains("virtual page 0x401ff000") && absent.getMessage().contains(
                "not present in RAM"), absent.getMessage());
        IllegalArgumentException swapped = assertThrows(IllegalArgumentException.class,
                () -> pagemap(VA, i -> i == 0 ? Pagemap.SWAPPED : hugePageEntry(i)).physicalAddress(VA, 4096));
        assertTrue(swapped.getMessage().contains("(swapped out)"), swapped.getMessage());
    }

    @Test
    void hiddenFrameNumbersMeanRootIsNeeded() throws IOException {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> pagemap(VA, i -> Pagemap.PRESENT).physicalAddress(VA, 4096));
        assertTrue(e.getMessage().contains("CAP_SYS_ADMIN") && e.getMessage().contains("run as root"), e.getMessage());
    }

    @Test
    void buffersCrossingAHugePageOrNotInWholePagesAreRefused() throws IOException {
        Pagemap pm = pagemap(VA, PagemapTest::hugePageEntry);
        IllegalArgumentException cross = assertThrows(IllegalArgumentException.class,
                () -> pm.physicalAddress(VA + 4096, HUGE));
        assertTrue(cross.getMessage().contains("spans more than one 2 MiB huge page"), cross.getMessage());
        assertThrows(IllegalArgumentException.class, () -> pm.physicalAddress(VA + 8, 4096));
        assertThrows(IllegalArgumentException.class, () -> pm.physicalAddress(VA, 100));
        assertThrows(IllegalArgumentException.class, () -> pm.physicalAddress(VA, 0));
        IllegalStateException beyond = assertThrows(IllegalStateException.class,
                () -> pm.physicalAddress(VA + 4 * HUGE, 4096));
        assertTrue(beyond.getMessage().contains("ends before"), beyond.getMessage());
    }

    @Test
    void theNoIommuAddressSpaceMapsRealSegmentsToTheirFakePhysicalAddresses() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(HUGE, HUGE);
            MemorySegment other = arena.allocate(HUGE, HUGE);
            Pagemap pm = pagemap(buffer.address(), PagemapTest::hugePageEntry);
            pagemap(other.address(), i -> hugePageEntry(i + 512));
            NoIommuAddressSpace space = new NoIommuAddressSpace(pm);
            assertEquals(HUGE, space.pageSize(), "pools round to whole huge pages");

            long phys = space.map(buffer);
            assertEquals(PFN * 4096, phys);
            assertEquals(PFN * 4096 + HUGE, space.map(other));
            assertEquals(2, space.mappingCount());
            assertThrows(IllegalStateException.class, () -> space.map(buffer.asSlice(4096, 4096)),
                    "a range inside a live mapping");
            assertThrows(IllegalArgumentException.class, () -> space.unmap(phys, 4096), "wrong size");
            space.unmap(phys, HUGE);
            assertThrows(IllegalArgumentException.class, () -> space.unmap(phys, HUGE), "double unmap");
            assertThrows(IllegalArgumentException.class, () -> space.map(MemorySegment.ofArray(new byte[4096])));

            space.release();
            assertThrows(IllegalStateException.class, () -> space.map(buffer), "closed");
            space.unmap(PFN * 4096 + HUGE, HUGE); // released at close; the owner's unmap still succeeds once
            assertThrows(IllegalArgumentException.class, () -> space.unmap(PFN * 4096 + HUGE, HUGE));
            assertTrue(space.describe().contains("DMA is not confined"), space.describe());
        }
    }
}
