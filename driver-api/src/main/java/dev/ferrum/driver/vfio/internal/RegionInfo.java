package dev.ferrum.driver.vfio.internal;

import dev.ferrum.sys.Syscalls;
import dev.ferrum.sys.VfioIoctl;
import dev.ferrum.sys.linux.Linux;
import dev.ferrum.sys.linux.vfio_region_info;
import dev.ferrum.sys.linux.vfio_region_info_cap_sparse_mmap;
import dev.ferrum.sys.linux.vfio_region_sparse_mmap_area;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What {@code VFIO_DEVICE_GET_REGION_INFO} says about one region of a device (a BAR, config space, ROM): its size,
 * its offset in the device file, whether it can be read, written and mapped, and, when only parts of it can be
 * mapped, the sparse-mmap areas.
 *
 * @param index       the region index ({@code VFIO_PCI_BAR0_REGION_INDEX} ... {@code VFIO_PCI_CONFIG_REGION_INDEX})
 * @param flags       {@code VFIO_REGION_INFO_FLAG_*}
 * @param size        region size in bytes (0: not implemented)
 * @param offset      offset of the region in the device file descriptor, for pread/pwrite/mmap
 * @param sparseAreas the mappable areas from the sparse-mmap capability, or {@code null} when the kernel gave none
 *                    (then the whole region is mappable if the MMAP flag is set)
 *
 * <p>Invariants: immutable ({@code sparseAreas} is null or an unmodifiable copy); every sparse area parsed from
 * the kernel has a non-negative offset and size and does not overflow; {@link #mappablePrefix()} is never more
 * than {@code size}, and 0 when the region cannot be mapped.
 */
public record RegionInfo(int index, int flags, long size, long offset, List<Area> sparseAreas) {
    /** One sparse-mmap area: {@code [offset, offset + size)} of the region can be mapped. */
    public record Area(long offset, long size) {}

    private static final int FLAG_READ = Linux.VFIO_REGION_INFO_FLAG_READ();
    private static final int FLAG_WRITE = Linux.VFIO_REGION_INFO_FLAG_WRITE();
    private static final int FLAG_MMAP = Linux.VFIO_REGION_INFO_FLAG_MMAP();
    private static final int FLAG_CAPS = Linux.VFIO_REGION_INFO_FLAG_CAPS();
    private static final int CAP_SPARSE_MMAP = Linux.VFIO_REGION_INFO_CAP_SPARSE_MMAP();

    public RegionInfo {
        sparseAreas = sparseAreas == null ? null : List.copyOf(sparseAreas);
    }

    /** {@return whether the region can be read with pread} */
    public boolean readable() {
        return (flags & FLAG_READ) != 0;
    }

    /** {@return whether the region can be written with pwrite} */
    public boolean writable() {
        return (flags & FLAG_WRITE) != 0;
    }

    /** {@return whether (some of) the region can be mmapped} */
    public boolean mmap() {
        return (flags & FLAG_MMAP) != 0;
    }

    /**
     * {@return how many bytes from offset 0 can be mapped as one piece}
     * The whole region without a sparse-mmap capability; with one, the areas that start at 0 and follow each other
     * without a gap (so a BAR whose MSI-X table sits in the middle is mappable up to the table). 0 if the region
     * cannot be mapped, or its first mappable area does not start at 0.
     */
    public long mappablePrefix() {
        if (!mmap() || size == 0) {
            return 0;
        }
        if (sparseAreas == null) {
            return size;
        }
        long end = 0;
        for (Area a : sparseAreas.stream().sorted(Comparator.comparingLong(Area::offset)).toList()) {
            if (a.offset() > end) {
                break;
            }
            end = Math.max(end, a.offset() + a.size());
        }
        return Math.min(end, size);
    }

    /**
     * Asks the kernel about region {@code index} of the device behind {@code deviceFd}. When the capabilities do
     * not fit the buffer, the kernel reports the size it needs in {@code argsz}; the call is repeated with that.
     */
    public static RegionInfo query(int deviceFd, int index, String what) {
        return CapChain.query(vfio_region_info.sizeof(), FLAG_CAPS, what + " region " + index, buf -> {
            vfio_region_info.index(buf, index);
            Syscalls.ioctl(deviceFd, VfioIoctl.VFIO_DEVICE_GET_REGION_INFO, buf, what + " region " + index);
        }, buf -> parse(buf, what));
    }

    /**
     * Parses a filled {@code struct vfio_region_info} and its capability chain.
     *
     * @param buf the structure as filled by the kernel (capabilities included when they fitted)
     */
    public static RegionInfo parse(MemorySegment buf, String what) {
        int flags = vfio_region_info.flags(buf);
        int index = vfio_region_info.index(buf);
        List<Area> areas = null;
        if ((flags & FLAG_CAPS) != 0) {
            List<Area> found = new ArrayList<>();
            boolean[] sparse = new boolean[1];
            CapChain.walk(buf, Integer.toUnsignedLong(vfio_region_info.cap_offset(buf)), vfio_region_info.sizeof(),
                    what + " region " + index, (id, version, cap) -> {
                        if (id == CAP_SPARSE_MMAP) {
                            sparse[0] = true;
                            found.addAll(sparseAreas(cap, what + " region " + index));
                        }
                    });
            areas = sparse[0] ? found : null;
        }
        return new RegionInfo(index, flags, vfio_region_info.size(buf), vfio_region_info.offset(buf), areas);
    }

    private static List<Area> sparseAreas(MemorySegment cap, String what) {
        long count = Integer.toUnsignedLong(vfio_region_info_cap_sparse_mmap.nr_areas(cap));
        List<Area> areas = new ArrayList<>();
        for (MemorySegment area : CapChain.array(cap, vfio_region_info_cap_sparse_mmap.sizeof(), count,
                vfio_region_sparse_mmap_area.sizeof(), what + ": sparse-mmap capability")) {
            long off = vfio_region_sparse_mmap_area.offset(area);
            long len = vfio_region_sparse_mmap_area.size(area);
            if (off < 0 || len < 0 || off + len < off) {
                throw new IllegalStateException(what + ": sparse-mmap area [0x" + Long.toHexString(off) + ", +0x"
                        + Long.toHexString(len) + ") overflows");
            }
            areas.add(new Area(off, len));
        }
        return areas;
    }
}
