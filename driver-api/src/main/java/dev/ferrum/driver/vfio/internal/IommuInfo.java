package dev.ferrum.driver.vfio.internal;

import dev.ferrum.sys.Syscalls;
import dev.ferrum.sys.VfioIoctl;
import dev.ferrum.sys.linux.Linux;
import dev.ferrum.sys.linux.vfio_iommu_type1_info;
import dev.ferrum.sys.linux.vfio_iommu_type1_info_cap_iova_range;
import dev.ferrum.sys.linux.vfio_iova_range;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code VFIO_IOMMU_GET_INFO} says about a type1 container's IOMMU: the page sizes it can map and the IOVA
 * ranges a device may use (the IOVA-range capability, Linux 5.4+; it excludes reserved regions such as the x86 MSI
 * window at 0xfee00000).
 *
 * @param pageSizes  bitmap of supported mapping sizes (bit n: 2^n bytes), 0 if the kernel did not say
 * @param iovaRanges usable IOVA ranges, empty if the kernel has no IOVA-range capability
 *
 * <p>Invariants: immutable ({@code iovaRanges} is an unmodifiable copy); {@link #minPageSize()} is at least 4096;
 * a window from {@link #window()} is not empty, 2 MiB aligned, starts at or above {@link #DEFAULT_BASE} and lies
 * inside one reported range (or is {@code [DEFAULT_BASE, DEFAULT_LIMIT)} when the kernel reported none).
 */
public record IommuInfo(long pageSizes, List<Range> iovaRanges) {
    /** An IOVA range {@code [start, end]}, both inclusive, as the kernel reports it. */
    public record Range(long start, long end) {}

    /**
     * Where IOVAs are placed when the kernel reports no ranges: above 256 MiB (so that 0 and small garbage values
     * are never valid device addresses) and below 2^39 (512 GiB), which every VT-d / AMD-Vi implementation with
     * 3-level (39-bit) tables can address.
     */
    public static final long DEFAULT_BASE = 0x1000_0000L;
    /** See {@link #DEFAULT_BASE}. */
    public static final long DEFAULT_LIMIT = 1L << 39;

    private static final int INFO_PGSIZES = Linux.VFIO_IOMMU_INFO_PGSIZES();
    private static final int INFO_CAPS = Linux.VFIO_IOMMU_INFO_CAPS();
    private static final int CAP_IOVA_RANGE = Linux.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE();

    public IommuInfo {
        iovaRanges = List.copyOf(iovaRanges);
    }

    /** Queries the container (its IOMMU must be set), retrying with the {@code argsz} the kernel asks for. */
    public static IommuInfo query(int containerFd, String what) {
        return CapChain.query(vfio_iommu_type1_info.sizeof(), INFO_CAPS, what,
                buf -> Syscalls.ioctl(containerFd, VfioIoctl.VFIO_IOMMU_GET_INFO, buf, what), buf -> parse(buf, what));
    }

    /** Parses a filled {@code struct vfio_iommu_type1_info} and its capabilities. */
    public static IommuInfo parse(MemorySegment buf, String what) {
        int flags = vfio_iommu_type1_info.flags(buf);
        long pageSizes = (flags & INFO_PGSIZES) != 0 ? vfio_iommu_type1_info.iova_pgsizes(buf) : 0;
        List<Range> ranges = new ArrayList<>();
        if ((flags & INFO_CAPS) != 0) {
            CapChain.walk(buf, Integer.toUnsignedLong(vfio_iommu_type1_info.cap_offset(buf)),
                    vfio_iommu_type1_info.sizeof(), what, (id, version, cap) -> {
                        if (id == CAP_IOVA_RANGE) {
                            ranges.addAll(ranges(cap, what));
                        }
                    });
        }
        return new IommuInfo(pageSizes, ranges);
    }

    private static List<Range> ranges(MemorySegment cap, String what) {
        long count = Integer.toUnsignedLong(vfio_iommu_type1_info_cap_iova_range.nr_iovas(cap));
        return CapChain.array(cap, vfio_iommu_type1_info_cap_iova_range.sizeof(), count, vfio_iova_range.sizeof(),
                what + ": IOVA-range capability").stream()
                .map(r -> new Range(vfio_iova_range.start(r), vfio_iova_range.end(r))).toList();
    }

    /** {@return the smallest mapping size: the lowest bit of {@link #pageSizes()}, at least 4096} */
    public long minPageSize() {
        long lowest = Long.lowestOneBit(pageSizes);
        return Math.max(4096, lowest);
    }

    /**
     * {@return the IOVA window {@code [base, limit)} the backend allocates from}
     * Each reported range is clipped to at least {@link #DEFAULT_BASE} and to below 2^63 (IOVAs are Java longs), and
     * aligned to 2 MiB inside; the largest result wins. Without reported ranges the window is
     * {@code [DEFAULT_BASE, DEFAULT_LIMIT)}.
     *
     * @throws IllegalStateException if the kernel reported ranges but none leaves room above {@code DEFAULT_BASE}
     */
    public long[] window() {
        if (iovaRanges.isEmpty()) {
            return new long[] {DEFAULT_BASE, DEFAULT_LIMIT};
        }
        long align = 2L << 20;
        long bestBase = 0;
        long bestLimit = 0;
        for (Range r : iovaRanges) {
            long start = Math.max(r.start(), DEFAULT_BASE);
            // end is inclusive; an end at or above 2^63 - 1 (or "negative" as unsigned) clips to Long.MAX_VALUE.
            long limit = r.end() < 0 || r.end() == Long.MAX_VALUE ? Long.MAX_VALUE : r.end() + 1;
            if (start < 0) {
                continue;
            }
            long base = (start + align - 1) & -align;
            long top = limit & -align;
            if (base < start || top <= base) {
                continue;
            }
            if (top - base > bestLimit - bestBase) {
                bestBase = base;
                bestLimit = top;
            }
        }
        if (bestLimit <= bestBase) {
            throw new IllegalStateException("the IOMMU offers no usable IOVA range above 0x"
                    + Long.toHexString(DEFAULT_BASE) + ": " + iovaRanges);
        }
        return new long[] {bestBase, bestLimit};
    }
}
