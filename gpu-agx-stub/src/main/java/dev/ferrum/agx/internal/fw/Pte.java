package dev.ferrum.agx.internal.fw;

/**
 * The GPU page table format (the UAT; Asahi {@code mmu.rs}, where it is ARM64-like with 16 KiB pages and managed by
 * the kernel's {@code io_pgtable}). Here: 4 KiB pages (the granule of {@code DmaPool}), three levels, 39-bit GPU
 * virtual addresses.
 *
 * <pre>
 * GPU VA bits: [38:30] level-0 index, [29:21] level-1 index, [20:12] level-2 index, [11:0] page offset
 * Table:       512 u64 little-endian descriptors, 4 KiB, page aligned, in DMA memory (addressed by device address)
 * Descriptor:  bit 0      VALID
 *              bit 1      TABLE (levels 0 and 1: points to the next table) / PAGE (level 2); must be 1
 *              bit 7      READ_ONLY (the GPU may read but not write the page)
 *              bits 47:12 device address (IOVA) of the next table or of the page
 *              others     zero
 * </pre>
 *
 * A walk that meets a descriptor without VALID, or with VALID but not TABLE/PAGE, is a translation fault at that
 * address. The root (level-0) table's device address is {@link InitDataLayout#UAT_TTBR}.
 *
 * <p>Invariants: a descriptor the driver writes is either 0 or valid with TYPE set; addresses are 4 KiB
 * aligned and below 2^48.
 */
public final class Pte {
    private Pte() {}

    public static final long VALID = 1L;
    public static final long TYPE = 1L << 1;
    public static final long READ_ONLY = 1L << 7;
    public static final long ADDRESS_MASK = 0x0000_ffff_ffff_f000L;

    public static final int PAGE_SHIFT = 12;
    public static final long PAGE_SIZE = 1L << PAGE_SHIFT;
    public static final int LEVELS = 3;
    public static final int BITS_PER_LEVEL = 9;
    public static final int ENTRIES = 1 << BITS_PER_LEVEL;
    public static final long TABLE_SIZE = ENTRIES * 8L;
    /** GPU virtual addresses are 39 bits wide. */
    public static final int VA_BITS = PAGE_SHIFT + LEVELS * BITS_PER_LEVEL;
    public static final long VA_LIMIT = 1L << VA_BITS;

    /** {@return the index into a level-{@code level} table for {@code va}} */
    public static int index(long va, int level) {
        return (int) ((va >>> (PAGE_SHIFT + (LEVELS - 1 - level) * BITS_PER_LEVEL)) & (ENTRIES - 1));
    }

    /** {@return a table descriptor pointing at the table at device address {@code table}} */
    public static long table(long table) {
        return (table & ADDRESS_MASK) | TYPE | VALID;
    }

    /** {@return a page descriptor for the page at device address {@code page}} */
    public static long page(long page, boolean readOnly) {
        return (page & ADDRESS_MASK) | TYPE | VALID | (readOnly ? READ_ONLY : 0);
    }

    /** {@return whether {@code pte} is valid and of the table/page type} */
    public static boolean isValid(long pte) {
        return (pte & (VALID | TYPE)) == (VALID | TYPE);
    }
}
