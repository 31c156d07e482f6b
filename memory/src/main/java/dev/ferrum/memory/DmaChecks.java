package dev.ferrum.memory;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** Argument checks shared by the address spaces. */
final class DmaChecks {
    private DmaChecks() {}

    static void requireMappable(MemorySegment segment, long pageSize) {
        Objects.requireNonNull(segment, "segment");
        if (!segment.isNative()) {
            throw new IllegalArgumentException("only native memory can be mapped for DMA, not " + segment);
        }
        if (segment.byteSize() == 0 || segment.byteSize() % pageSize != 0) {
            throw new IllegalArgumentException("DMA mapping size " + segment.byteSize()
                    + " is not a positive multiple of the page size " + pageSize);
        }
        if (segment.address() % pageSize != 0) {
            throw new IllegalArgumentException("DMA mapping address 0x" + Long.toHexString(segment.address())
                    + " is not aligned to the page size " + pageSize);
        }
    }
}
