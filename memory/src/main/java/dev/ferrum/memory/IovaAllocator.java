package dev.ferrum.memory;

import java.util.Map;
import java.util.TreeMap;

/**
 * Allocates ranges of device addresses (IOVAs) inside a window {@code [base, limit)}: first fit, aligned,
 * with free ranges coalesced. Used by the VFIO backend and the mock IOMMU to place DMA mappings.
 *
 * <p>Invariants: free and allocated ranges are disjoint and together cover the window exactly; adjacent free
 * ranges are always merged; {@link #free} accepts only a range returned by {@link #allocate} and not yet freed,
 * so a double free or a partial free is reported instead of corrupting the free list.
 *
 * <p>Thread-safe (a monitor: mapping is not a hot path).
 */
public final class IovaAllocator {
    private final long base;
    private final long limit;
    /** start -> end (exclusive) of each free range. */
    private final TreeMap<Long, Long> free = new TreeMap<>();
    /** start -> size of each allocated range. */
    private final TreeMap<Long, Long> allocated = new TreeMap<>();
    private long freeBytes;

    /**
     * @param base  first usable device address (non-negative)
     * @param limit one past the last usable device address
     */
    public IovaAllocator(long base, long limit) {
        if (base < 0 || limit <= base) {
            throw new IllegalArgumentException("IOVA window [0x" + Long.toHexString(base) + ", 0x"
                    + Long.toHexString(limit) + ") is empty or negative");
        }
        this.base = base;
        this.limit = limit;
        free.put(base, limit);
        freeBytes = limit - base;
    }

    /**
     * Allocates {@code size} bytes aligned to {@code alignment}.
     *
     * @param alignment a power of two
     * @return the first device address of the range
     * @throws IllegalArgumentException if size is not positive or alignment is not a power of two
     * @throws IllegalStateException    if no free range is large enough
     */
    public synchronized long allocate(long size, long alignment) {
        if (size <= 0) {
            throw new IllegalArgumentException("IOVA allocation of " + size + " bytes");
        }
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("IOVA alignment " + alignment + " is not a power of two");
        }
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            long start = e.getKey();
            long end = e.getValue();
            long aligned = (start + alignment - 1) & -alignment;
            if (aligned < start || aligned > end || end - aligned < size) {
                continue;
            }
            free.remove(start);
            if (aligned > start) {
                free.put(start, aligned);
            }
            if (aligned + size < end) {
                free.put(aligned + size, end);
            }
            allocated.put(aligned, size);
            freeBytes -= size;
            return aligned;
        }
        throw new IllegalStateException("IOVA space exhausted: no " + alignment + "-aligned range of " + size
                + " bytes in [0x" + Long.toHexString(base) + ", 0x" + Long.toHexString(limit) + "); " + freeBytes
                + " bytes free in " + free.size() + " fragment(s)");
    }

    /**
     * Returns a range to the allocator.
     *
     * @throws IllegalArgumentException if the range is not exactly one live allocation (double free, wrong size)
     */
    public synchronized void free(long iova, long size) {
        Long allocatedSize = allocated.get(iova);
        if (allocatedSize == null) {
            throw new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova)
                    + " is not allocated (double free, or never allocated)");
        }
        if (allocatedSize != size) {
            throw new IllegalArgumentException("IOVA 0x" + Long.toHexString(iova) + " was allocated with "
                    + allocatedSize + " bytes, freed with " + size);
        }
        allocated.remove(iova);
        freeBytes += size;
        long start = iova;
        long end = iova + size;
        Map.Entry<Long, Long> before = free.floorEntry(start);
        if (before != null && before.getValue() == start) {
            start = before.getKey();
            free.remove(start);
        }
        Long afterEnd = free.remove(end);
        if (afterEnd != null) {
            end = afterEnd;
        }
        free.put(start, end);
    }

    /** {@return whether {@code iova} lies inside a live allocation} */
    public synchronized boolean isAllocated(long iova) {
        Map.Entry<Long, Long> e = allocated.floorEntry(iova);
        return e != null && iova - e.getKey() < e.getValue();
    }

    /** {@return the number of bytes not allocated} */
    public synchronized long freeBytes() {
        return freeBytes;
    }

    /** {@return the number of live allocations} */
    public synchronized int liveAllocations() {
        return allocated.size();
    }
}
