package dev.ferrum.sys;

/**
 * VFIO ioctl request numbers. {@code linux/vfio.h} defines them with the function-like macro
 * {@code _IO(VFIO_TYPE, VFIO_BASE + n)}, which jextract does not translate; they are computed here, in one place,
 * with the kernel's {@code _IOC} encoding ({@code include/uapi/asm-generic/ioctl.h}):
 * {@code dir << 30 | size << 16 | type << 8 | nr}, where {@code _IO} has direction none and size 0.
 * VFIO passes its argument sizes in the structures' {@code argsz} fields instead.
 *
 * <p>Invariants: not instantiable; the constants are compile-time fixed and equal the kernel's values (checked
 * against {@code linux/vfio.h} in the tests); {@link #ioc} refuses fields that do not fit their bit ranges.
 */
public final class VfioIoctl {
    /** {@code VFIO_TYPE}: the ioctl "magic" character {@code ';'}. */
    public static final int VFIO_TYPE = ';';
    /** {@code VFIO_BASE}. */
    public static final int VFIO_BASE = 100;

    public static final long VFIO_GET_API_VERSION = io(0);
    public static final long VFIO_CHECK_EXTENSION = io(1);
    public static final long VFIO_SET_IOMMU = io(2);
    public static final long VFIO_GROUP_GET_STATUS = io(3);
    public static final long VFIO_GROUP_SET_CONTAINER = io(4);
    public static final long VFIO_GROUP_UNSET_CONTAINER = io(5);
    public static final long VFIO_GROUP_GET_DEVICE_FD = io(6);
    public static final long VFIO_DEVICE_GET_INFO = io(7);
    public static final long VFIO_DEVICE_GET_REGION_INFO = io(8);
    public static final long VFIO_DEVICE_GET_IRQ_INFO = io(9);
    public static final long VFIO_DEVICE_SET_IRQS = io(10);
    public static final long VFIO_DEVICE_RESET = io(11);
    public static final long VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = io(12);
    public static final long VFIO_DEVICE_PCI_HOT_RESET = io(13);
    public static final long VFIO_IOMMU_GET_INFO = io(12);
    public static final long VFIO_IOMMU_MAP_DMA = io(13);
    public static final long VFIO_IOMMU_UNMAP_DMA = io(14);

    private VfioIoctl() {}

    /** The kernel's {@code _IOC(dir, type, nr, size)}. */
    public static long ioc(int dir, int type, int nr, int size) {
        if ((dir & ~3) != 0 || (type & ~0xff) != 0 || (nr & ~0xff) != 0 || (size & ~0x3fff) != 0) {
            throw new IllegalArgumentException("ioctl field out of range: dir=" + dir + " type=" + type + " nr=" + nr
                    + " size=" + size);
        }
        return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }

    /** The kernel's {@code _IO(type, nr)}. */
    public static long io(int type, int nr) {
        return ioc(0, type, nr, 0);
    }

    private static long io(int n) {
        return io(VFIO_TYPE, VFIO_BASE + n);
    }

    /** {@return a readable name for a VFIO request number, for error messages} */
    public static String name(long request) {
        int n = (int) (request & 0xff) - VFIO_BASE;
        if (((request >> 8) & 0xff) != VFIO_TYPE || n < 0) {
            return "0x" + Long.toHexString(request);
        }
        return switch (n) {
            case 0 -> "VFIO_GET_API_VERSION";
            case 1 -> "VFIO_CHECK_EXTENSION";
            case 2 -> "VFIO_SET_IOMMU";
            case 3 -> "VFIO_GROUP_GET_STATUS";
            case 4 -> "VFIO_GROUP_SET_CONTAINER";
            case 5 -> "VFIO_GROUP_UNSET_CONTAINER";
            case 6 -> "VFIO_GROUP_GET_DEVICE_FD";
            case 7 -> "VFIO_DEVICE_GET_INFO";
            case 8 -> "VFIO_DEVICE_GET_REGION_INFO";
            case 9 -> "VFIO_DEVICE_GET_IRQ_INFO";
            case 10 -> "VFIO_DEVICE_SET_IRQS";
            case 11 -> "VFIO_DEVICE_RESET";
            case 12 -> "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO/VFIO_IOMMU_GET_INFO";
            case 13 -> "VFIO_DEVICE_PCI_HOT_RESET/VFIO_IOMMU_MAP_DMA";
            case 14 -> "VFIO_IOMMU_UNMAP_DMA";
            default -> "VFIO_BASE+" + n;
        };
    }
}
