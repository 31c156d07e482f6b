package dev.ferrum.driver.vfio.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Physical addresses from {@code /proc/self/pagemap}, for no-IOMMU mode, where the device sees physical memory.
 * The file holds one little-endian 64-bit entry per 4 KiB virtual page: bit 63 present, bit 62 swapped, bits 0-54
 * the page frame number (shown as 0 to processes without {@code CAP_SYS_ADMIN}).
 *
 * <p>A buffer is accepted only if it lies inside one 2 MiB-aligned virtual huge page whose 512 small pages are all
 * present and map to one physically contiguous, 2 MiB-aligned block: what a hugetlbfs page is. Hugetlb pages are
 * neither swapped nor migrated, so the physical address stays valid while the memory is allocated; ordinary pages
 * can be moved by the kernel at any time and are refused.
 *
 * <p>Invariants: the file is opened per query and closed afterwards; nothing is cached (the kernel may move
 * ordinary pages between queries).
 */
public final class Pagemap {
    public static final long PAGE = 4096;
    public static final long HUGE_PAGE = 2L << 20;
    public static final long PRESENT = 1L << 63;
    public static final long SWAPPED = 1L << 62;
    public static final long PFN_MASK = (1L << 55) - 1;
    private static final int ENTRIES_PER_HUGE_PAGE = (int) (HUGE_PAGE / PAGE);

    private final Path file;

    /** @param file normally {@code /proc/self/pagemap} */
    public Pagemap(Path file) {
        this.file = file;
    }

    /** {@return the pagemap file read} */
    public Path file() {
        return file;
    }

    /**
     * {@return the physical address of {@code [virtualAddress, virtualAddress + size)}}
     *
     * @throws IllegalArgumentException if the range is not page aligned, crosses a 2 MiB boundary, or is not in one
     *                                  physically contiguous, aligned 2 MiB block (not huge-page memory)
     * @throws IllegalStateException    if a page is not present, or the kernel hides frame numbers (no
     *                                  CAP_SYS_ADMIN), or the file cannot be read
     */
    public long physicalAddress(long virtualAddress, long size) {
        if (size <= 0 || (virtualAddress & (PAGE - 1)) != 0 || (size & (PAGE - 1)) != 0) {
            throw new IllegalArgumentException("no-IOMMU DMA mapping [0x" + Long.toHexString(virtualAddress) + ", +"
                    + size + ") is not a positive number of whole 4 KiB pages");
        }
        long hugeStart = virtualAddress & -HUGE_PAGE;
        if (virtualAddress + size - hugeStart > HUGE_PAGE) {
            throw new IllegalArgumentException("no-IOMMU DMA mapping [0x" + Long.toHexString(virtualAddress) + ", +"
                    + size + ") spans more than one 2 MiB huge page: without an IOMMU the device needs physically "
                    + "contiguous memory, so a buffer must fit in one huge page (at most 2 MiB, from a DmaPool with "
                    + "HugePages.REQUIRE)");
        }
        long[] entries = read(hugeStart);
        long firstPfn = 0;
        for (int i = 0; i < ENTRIES_PER_HUGE_PAGE; i++) {
            long e = entries[i];
            long va = hugeStart + i * PAGE;
            if ((e & PRESENT) == 0) {
                throw new IllegalArgumentException("virtual page 0x" + Long.toHexString(va) + " of the 2 MiB region "
                        + "around the no-IOMMU DMA buffer is not present in RAM" + ((e & SWAPPED) != 0
                        ? " (swapped out)" : "") + ": the buffer is not backed by a huge page. Allocate it from a "
                        + "DmaPool with HugePages.REQUIRE (reserve huge pages: echo 512 > /proc/sys/vm/nr_hugepages)");
            }
            long pfn = e & PFN_MASK;
            if (pfn == 0) {
                throw new IllegalStateException(file + " shows page frame number 0 for 0x" + Long.toHexString(va)
                        + ": the kernel hides physical addresses from processes without CAP_SYS_ADMIN. No-IOMMU mode "
                        + "needs them: run as root");
            }
            if (i == 0) {
                firstPfn = pfn;
                if ((pfn * PAGE) % HUGE_PAGE != 0) {
                    throw new IllegalArgumentException("the 2 MiB region at 0x" + Long.toHexString(hugeStart)
                            + " starts at physical 0x" + Long.toHexString(pfn * PAGE) + ", not 2 MiB aligned: it is "
                            + "not a huge page. No-IOMMU DMA needs buffers from a DmaPool with HugePages.REQUIRE");
                }
            } else if (pfn != firstPfn + i) {
                throw new IllegalArgumentException("the 2 MiB region at 0x" + Long.toHexString(hugeStart)
                        + " is not physically contiguous (page " + i + " is frame 0x" + Long.toHexString(pfn)
                        + ", expected 0x" + Long.toHexString(firstPfn + i) + "): it is not a huge page. No-IOMMU DMA "
                        + "needs buffers from a DmaPool with HugePages.REQUIRE");
            }
        }
        return firstPfn * PAGE + (virtualAddress - hugeStart);
    }

    private long[] read(long hugeStart) {
        ByteBuffer buf = ByteBuffer.allocate(ENTRIES_PER_HUGE_PAGE * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long position = (hugeStart >>> 12) * Long.BYTES;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (buf.hasRemaining()) {
                int n = ch.read(buf, position + buf.position());
                if (n < 0) {
                    throw new IllegalStateException(file + " ends before the entry of virtual address 0x"
                            + Long.toHexString(hugeStart + (buf.position() / Long.BYTES) * PAGE));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " (no-IOMMU mode needs physical addresses: run as "
                    + "root)", e);
        }
        buf.flip();
        long[] entries = new long[ENTRIES_PER_HUGE_PAGE];
        buf.asLongBuffer().get(entries);
        return entries;
    }
}
