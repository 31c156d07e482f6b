package dev.ferrum.driver.mock;

import dev.ferrum.driver.mock.internal.DeviceMemory;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.IovaAllocator;
import dev.ferrum.memory.internal.LiveResources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A mock IOMMU: the device address space of one mock PCI function. Devices reach host memory only through IOVAs that
 * are mapped right now; any other access is blocked and recorded as an {@link IommuFault} that tests can assert on.
 *
 * <p>Each mapping gives the device its own view of the buffer's memory, with its own lifetime: unmapping closes
 * that view (waiting for a device access in progress), so a buffer freed after unmapping can never be reached.
 *
 * <p>Invariants: mappings never overlap; {@link #translate} returns memory of exactly one live mapping, inside its
 * bounds; every blocked access is recorded once.
 *
 * <p>Thread-safe: the driver maps on its threads while the device model translates on its own.
 */
public final class MockIommu implements DeviceAddressSpace {
    private static final Logger LOG = LoggerFactory.getLogger(MockIommu.class);
    /** IOVA window: above 256 MiB (so 0 and small values are never valid) and below 2^39, QEMU's IOMMU width. */
    static final long IOVA_BASE = 0x1000_0000L;
    static final long IOVA_LIMIT = 1L << 39;
    private static final long HUGE = 2L << 20;

    private final String name;
    private final IovaAllocator iovas = new IovaAllocator(IOVA_BASE, IOVA_LIMIT);
    private final TreeMap<Long, Mapping> mappings = new TreeMap<>();
    private final List<IommuFault> faults = new CopyOnWriteArrayList<>();

    private record Mapping(long iova, long size, MemorySegment view, Arena arena,
                           LiveResources.Registration registration) {}

    MockIommu(String name) {
        this.name = name;
    }

    @Override
    public long map(MemorySegment segment) {
        if (!segment.isNative() || segment.byteSize() == 0 || segment.byteSize() % pageSize() != 0
                || segment.address() % pageSize() != 0) {
            throw new IllegalArgumentException("mock IOMMU maps page-aligned native memory in whole pages, not "
                    + segment);
        }
        long size = segment.byteSize();
        Arena arena = Arena.ofShared();
        MemorySegment view;
        try {
            view = DeviceMemory.view(segment, arena); // refuses memory already freed
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        synchronized (this) {
            long iova;
            try {
                iova = iovas.allocate(size, size >= HUGE ? HUGE : pageSize());
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
            mappings.put(iova, new Mapping(iova, size, view, arena, LiveResources.open(
                    LiveResources.Kind.IOVA_MAPPING, describe() + ": IOVA 0x" + Long.toHexString(iova) + ", " + size
                            + " bytes (and the device's view of it)")));
            return iova;
        }
    }

    @Override
    public void unmap(long deviceAddress, long size) {
        Mapping m;
        synchronized (this) {
            m = mappings.get(deviceAddress);
            if (m == null || m.size() != size) {
                throw new IllegalArgumentException("mock IOMMU: no mapping of " + size + " bytes at IOVA 0x"
                        + Long.toHexString(deviceAddress));
            }
            mappings.remove(deviceAddress);
            iovas.free(deviceAddress, size);
        }
        // Outside the lock: closing waits for a device access in progress on this view.
        m.arena().close();
        m.registration().close();
    }

    /**
     * Translates a device access.
     *
     * @return the host memory of {@code [iova, iova + length)}, as the device's view
     * @throws IommuFaultException if the range is not inside one live mapping (the fault is recorded)
     */
    public MemorySegment translate(long iova, long length, boolean write) {
        Mapping m;
        synchronized (this) {
            Map.Entry<Long, Mapping> e = mappings.floorEntry(iova);
            m = e == null ? null : e.getValue();
        }
        if (m == null || length <= 0 || iova - m.iova() > m.size() - length) {
            throw fault(iova, length, write, m == null || iova - m.iova() >= m.size() ? "not mapped"
                    : "crosses the end of its mapping");
        }
        try {
            return m.view().asSlice(iova - m.iova(), length);
        } catch (IllegalStateException unmappedMeanwhile) {
            throw fault(iova, length, write, "unmapped during the access");
        }
    }

    /** Records and returns a fault (also used by the DMA engine when an access races with an unmap). */
    IommuFaultException fault(long iova, long length, boolean write, String reason) {
        IommuFault f = new IommuFault(iova, length, write, reason);
        faults.add(f);
        LOG.warn("{}: {}", name, f);
        return new IommuFaultException(f);
    }

    /** {@return the faults recorded so far, oldest first} */
    public List<IommuFault> faults() {
        return List.copyOf(faults);
    }

    /** Forgets the recorded faults. */
    public void clearFaults() {
        faults.clear();
    }

    /** {@return the number of live mappings} */
    public synchronized int mappingCount() {
        return mappings.size();
    }

    /** {@return whether {@code iova} is inside a live mapping} */
    public synchronized boolean isMapped(long iova) {
        return iovas.isAllocated(iova);
    }

    @Override
    public String describe() {
        return "mock IOMMU of " + name;
    }
}
