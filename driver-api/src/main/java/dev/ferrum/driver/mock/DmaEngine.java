package dev.ferrum.driver.mock;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A device model's DMA engine: reads and writes host memory by device address, through the function's
 * {@link MockIommu}, only while the driver has enabled bus mastering. Blocked accesses throw
 * {@link IommuFaultException} and are recorded on the IOMMU, whatever the reason (not mapped, unmapped during the
 * access, bus mastering off).
 *
 * <p>Values are little endian, as PCI is. The ordered variants give a model the ordering a device gives: write
 * the body of a completion, then release-write the word the driver polls.
 *
 * <p>Invariants: an access touches only memory of one live mapping.
 */
public final class DmaEngine {
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MockFunction function;
    private final MockIommu iommu;

    DmaEngine(MockFunction function, MockIommu iommu) {
        this.function = function;
        this.iommu = iommu;
    }

    private MemorySegment at(long iova, long length, boolean write) {
        if (!function.busMasterEnabled()) {
            throw iommu.fault(iova, length, write, "bus mastering is disabled (PCI command register)");
        }
        return iommu.translate(iova, length, write);
    }

    private IommuFaultException raced(long iova, long length, boolean write) {
        return iommu.fault(iova, length, write, "unmapped during the access");
    }

    /**
     * {@return the device's own view of {@code [iova, iova + length)}, translated now, for memory a model touches on
     * every command (queue rings)} Keeping the view saves a translation (a lookup and a slice) per access.
     *
     * <p>The view stays usable until the driver unmaps that IOVA range; from then on every access through it throws
     * {@link IllegalStateException}. A model must treat that as a DMA fault; calling any other method of this engine
     * for the same address then records the fault on the IOMMU and throws {@link IommuFaultException}. Bus mastering
     * is checked only now: a model keeping a view checks {@link DeviceModel#busMasterEnabled()} before using it.
     *
     * @throws IommuFaultException if the range is not inside one live mapping or bus mastering is off (recorded)
     */
    public MemorySegment translate(long iova, long length, boolean write) {
        return at(iova, length, write);
    }

    /** Copies {@code dst.byteSize()} bytes from device address {@code iova} into {@code dst}. */
    public void read(long iova, MemorySegment dst) {
        MemorySegment src = at(iova, dst.byteSize(), false);
        try {
            MemorySegment.copy(src, 0, dst, 0, dst.byteSize());
        } catch (IllegalStateException e) {
            throw raced(iova, dst.byteSize(), false);
        }
    }

    /** Copies {@code src} to device address {@code iova}. */
    public void write(long iova, MemorySegment src) {
        MemorySegment dst = at(iova, src.byteSize(), true);
        try {
            MemorySegment.copy(src, 0, dst, 0, src.byteSize());
        } catch (IllegalStateException e) {
            throw raced(iova, src.byteSize(), true);
        }
    }

    /** Fills {@code length} bytes at device address {@code iova} with {@code value}. */
    public void fill(long iova, long length, byte value) {
        MemorySegment dst = at(iova, length, true);
        try {
            dst.fill(value);
        } catch (IllegalStateException e) {
            throw raced(iova, length, true);
        }
    }

    /** {@return the 32-bit value at {@code iova}, read with acquire ordering} */
    public int readInt(long iova) {
        MemorySegment s = at(iova, 4, false);
        try {
            return (int) INT.getAcquire(s, 0L);
        } catch (IllegalStateException e) {
            throw raced(iova, 4, false);
        }
    }

    /** {@return the 64-bit value at {@code iova}, read with acquire ordering} */
    public long readLong(long iova) {
        MemorySegment s = at(iova, 8, false);
        try {
            return (long) LONG.getAcquire(s, 0L);
        } catch (IllegalStateException e) {
            throw raced(iova, 8, false);
        }
    }

    /** Writes a 32-bit value at {@code iova} with release ordering: earlier DMA writes are visible first. */
    public void writeInt(long iova, int value) {
        MemorySegment s = at(iova, 4, true);
        try {
            INT.setRelease(s, 0L, value);
        } catch (IllegalStateException e) {
            throw raced(iova, 4, true);
        }
    }

    /** Writes a 64-bit value at {@code iova} with release ordering. */
    public void writeLong(long iova, long value) {
        MemorySegment s = at(iova, 8, true);
        try {
            LONG.setRelease(s, 0L, value);
        } catch (IllegalStateException e) {
            throw raced(iova, 8, true);
        }
    }
}
