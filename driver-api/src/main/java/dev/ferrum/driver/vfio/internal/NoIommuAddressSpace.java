package dev.ferrum.driver.vfio.internal;

import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.internal.LiveResources;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The "address space" of a no-IOMMU VFIO container: there is no IOMMU, the device sees physical memory, so
 * {@link #map} returns the physical address of the buffer (from {@link Pagemap}) and tells the kernel nothing.
 * Nothing confines the device: it can read and write all of RAM. Unmapping only forgets the buffer.
 *
 * <p>{@link #pageSize()} is 2 MiB, so that DMA pools round buffers to whole huge pages; a buffer must be one
 * physically contiguous huge page (see {@link Pagemap}).
 *
 * <p>Invariants: live mappings never overlap; {@code unmap} accepts exactly a live mapping (or one dropped by
 * {@link #release()}); after {@code release} new mappings are refused.
 *
 * <p>Thread-safe. Tested end to end in the test VM without an IOMMU ({@code ./ferrum vm-test --no-iommu}, with a
 * {@code vfio.ko} rebuilt with {@code CONFIG_VFIO_NOIOMMU}): {@code VfioNoIommuVmTest} and {@code NvmeNoIommuVmTest}
 * have QEMU's NVMe controller write to the physical addresses this class hands out.
 */
public final class NoIommuAddressSpace implements DeviceAddressSpace {
    private final Pagemap pagemap;
    private final TreeMap<Long, Long> mappings = new TreeMap<>();
    private final TreeMap<Long, Long> released = new TreeMap<>();
    /** physical address -> the live mapping's entry in the leak registry. */
    private final Map<Long, LiveResources.Registration> tracked = new HashMap<>();
    private boolean closed;

    public NoIommuAddressSpace(Pagemap pagemap) {
        this.pagemap = pagemap;
    }

    @Override
    public long pageSize() {
        return Pagemap.HUGE_PAGE;
    }

    /** {@return true: the device sees physical addresses, so buffers must be huge pages that never move} */
    @Override
    public boolean requiresHugePages() {
        return true;
    }

    @Override
    public long map(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("only native memory can be mapped for DMA, not " + segment);
        }
        // SAFETY: the device will be given this physical address with no IOMMU between: it can reach all of RAM.
        // It stays right only because the memory is huge pages (requiresHugePages()), which the kernel does not
        // swap, and the DMA pool frees them only after unmap(); overlaps with live mappings are refused below.
        long physical = pagemap.physicalAddress(segment.address(), segment.byteSize());
        long size = segment.byteSize();
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(describe() + " is closed");
            }
            Map.Entry<Long, Long> below = mappings.floorEntry(physical + size - 1);
            if (below != null && below.getKey() + below.getValue() > physical) {
                throw new IllegalStateException(describe() + ": physical range 0x" + Long.toHexString(physical)
                        + "+" + size + " overlaps the live mapping at 0x" + Long.toHexString(below.getKey()));
            }
            mappings.put(physical, size);
            tracked.put(physical, LiveResources.open(LiveResources.Kind.IOVA_MAPPING, describe() + ": 0x"
                    + Long.toHexString(physical) + ", " + size + " bytes"));
        }
        return physical;
    }

    @Override
    public synchronized void unmap(long deviceAddress, long size) {
        Long live = mappings.get(deviceAddress);
        if (live != null && live == size) {
            mappings.remove(deviceAddress);
            tracked.remove(deviceAddress).close();
            return;
        }
        Long gone = released.get(deviceAddress);
        if (live == null && gone != null && gone == size) {
            released.remove(deviceAddress);
            return;
        }
        throw new IllegalArgumentException(describe() + ": no mapping of " + size + " bytes at 0x"
                + Long.toHexString(deviceAddress));
    }

    /** {@return the number of live mappings} */
    public synchronized int mappingCount() {
        return mappings.size();
    }

    /** Refuses new mappings; called when the container closes. */
    public synchronized void release() {
        closed = true;
        released.putAll(mappings);
        mappings.clear();
        tracked.values().forEach(LiveResources.Registration::close);
        tracked.clear();
    }

    @Override
    public String describe() {
        return "VFIO no-IOMMU container (physical addresses from " + pagemap.file() + "; DMA is not confined)";
    }
}
