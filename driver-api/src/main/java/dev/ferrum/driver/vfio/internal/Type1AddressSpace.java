package dev.ferrum.driver.vfio.internal;

import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.IovaAllocator;
import dev.ferrum.memory.internal.LiveResources;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;
import dev.ferrum.sys.VfioIoctl;
import dev.ferrum.sys.linux.Linux;
import dev.ferrum.sys.linux.vfio_iommu_type1_dma_map;
import dev.ferrum.sys.linux.vfio_iommu_type1_dma_unmap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The DMA address space of a VFIO container with a type1 IOMMU: {@link #map} places the memory at an IOVA from an
 * {@link IovaAllocator} and asks the kernel to map it ({@code VFIO_IOMMU_MAP_DMA}, which also pins the pages);
 * {@link #unmap} removes the IOMMU entries ({@code VFIO_IOMMU_UNMAP_DMA}) before the IOVA range is reused.
 *
 * <p>IOVA placement: buffers of 2 MiB or more are 2 MiB aligned (so the IOMMU can use large pages for huge-page
 * memory), smaller ones page aligned. The window is {@link IommuInfo#window()}.
 *
 * <p>Invariants: every live mapping is in {@link #mappings} and allocated in {@link #iovas}; a failed
 * {@code MAP_DMA} leaves neither; {@code unmap} accepts exactly a live mapping and verifies the kernel unmapped
 * exactly its size; after {@link #release()} nothing is mapped and new mappings are refused, while unmapping a
 * mapping that {@code release} already removed succeeds (its memory is no longer reachable).
 *
 * <p>Thread-safe (a monitor; mapping is not a hot path).
 */
public final class Type1AddressSpace implements DeviceAddressSpace {
    private static final Logger LOG = LoggerFactory.getLogger(Type1AddressSpace.class);
    private static final long HUGE = 2L << 20;

    private final int containerFd;
    private final String type;
    private final IovaAllocator iovas;
    private final long base;
    private final long limit;
    private final long pageSize;
    /** iova -> size of live mappings. */
    private final TreeMap<Long, Long> mappings = new TreeMap<>();
    /** iova -> size of mappings removed by {@link #release()} that the owners have not unmapped yet. */
    private final TreeMap<Long, Long> released = new TreeMap<>();
    /** iova -> the live mapping's entry in the leak registry. */
    private final Map<Long, LiveResources.Registration> tracked = new HashMap<>();
    private boolean closed;

    /**
     * @param containerFd the container, with its IOMMU set
     * @param type        e.g. {@code "type1v2"}, for messages
     */
    public Type1AddressSpace(int containerFd, String type, IommuInfo info) {
        this.containerFd = containerFd;
        this.type = type;
        long[] window = info.window();
        this.base = window[0];
        this.limit = window[1];
        this.pageSize = info.minPageSize();
        this.iovas = new IovaAllocator(base, limit);
    }

    @Override
    public long pageSize() {
        return pageSize;
    }

    @Override
    public long map(MemorySegment segment) {
        if (!segment.isNative() || segment.byteSize() == 0 || segment.byteSize() % pageSize != 0
                || segment.address() % pageSize != 0) {
            throw new IllegalArgumentException("VFIO maps page-aligned native memory in whole " + pageSize
                    + "-byte pages, not " + segment);
        }
        long size = segment.byteSize();
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(describe() + " is closed");
            }
            long iova = iovas.allocate(size, size >= HUGE ? HUGE : pageSize);
            try {
                mapDma(segment.address(), iova, size);
            } catch (RuntimeException e) {
                iovas.free(iova, size);
                throw e;
            }
            mappings.put(iova, size);
            tracked.put(iova, LiveResources.open(LiveResources.Kind.IOVA_MAPPING, describe() + ": IOVA 0x"
                    + Long.toHexString(iova) + ", " + size + " bytes"));
            return iova;
        }
    }

    private void mapDma(long vaddr, long iova, long size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(vfio_iommu_type1_dma_map.layout());
            vfio_iommu_type1_dma_map.argsz(m, (int) vfio_iommu_type1_dma_map.sizeof());
            vfio_iommu_type1_dma_map.flags(m, Linux.VFIO_DMA_MAP_FLAG_READ() | Linux.VFIO_DMA_MAP_FLAG_WRITE());
            // SAFETY: a raw virtual address handed to the kernel, which pins [vaddr, vaddr + size) and lets the device
            // reach it at iova. map() checked it is page-aligned native memory; the caller (the DMA pool) keeps the
            // memory alive and unmaps it (VFIO_IOMMU_UNMAP_DMA) before freeing it.
            vfio_iommu_type1_dma_map.vaddr(m, vaddr);
            vfio_iommu_type1_dma_map.iova(m, iova);
            vfio_iommu_type1_dma_map.size(m, size);
            Syscalls.ioctl(containerFd, VfioIoctl.VFIO_IOMMU_MAP_DMA, m, "VFIO container");
        } catch (SyscallException e) {
            throw VfioErrors.mapDmaFailed(size, iova, e);
        }
    }

    /**
     * The pool's {@code mlock} of the memory failed, before VFIO pinned it: the same limit as a failed
     * {@code MAP_DMA} (both count against {@code RLIMIT_MEMLOCK}), so the same
     * {@link dev.ferrum.driver.vfio.VfioException.Reason#MEMLOCK_LIMIT}.
     */
    @Override
    public RuntimeException memoryLockFailed(long size, SyscallException cause, IllegalStateException failure) {
        return VfioErrors.mlockFailed(size, cause, failure);
    }

    @Override
    public void unmap(long deviceAddress, long size) {
        synchronized (this) {
            Long live = mappings.get(deviceAddress);
            if (live == null) {
                Long gone = released.get(deviceAddress);
                if (gone != null && gone == size) {
                    released.remove(deviceAddress);
                    return;
                }
                throw new IllegalArgumentException(describe() + ": no mapping at IOVA 0x"
                        + Long.toHexString(deviceAddress) + " (never mapped, or unmapped twice)");
            }
            if (live != size) {
                throw new IllegalArgumentException(describe() + ": the mapping at IOVA 0x"
                        + Long.toHexString(deviceAddress) + " is " + live + " bytes, not " + size);
            }
            long unmapped = unmapDma(deviceAddress, size);
            mappings.remove(deviceAddress);
            tracked.remove(deviceAddress).close();
            iovas.free(deviceAddress, size);
            if (unmapped != size) {
                throw new IllegalStateException(describe() + ": VFIO_IOMMU_UNMAP_DMA of " + size + " bytes at IOVA 0x"
                        + Long.toHexString(deviceAddress) + " unmapped " + unmapped + " bytes");
            }
        }
    }

    private long unmapDma(long iova, long size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment u = a.allocate(vfio_iommu_type1_dma_unmap.layout());
            vfio_iommu_type1_dma_unmap.argsz(u, (int) vfio_iommu_type1_dma_unmap.sizeof());
            vfio_iommu_type1_dma_unmap.flags(u, 0);
            vfio_iommu_type1_dma_unmap.iova(u, iova);
            vfio_iommu_type1_dma_unmap.size(u, size);
            Syscalls.ioctl(containerFd, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, u, "VFIO container");
            // The kernel reports the number of bytes it unmapped in size.
            return vfio_iommu_type1_dma_unmap.size(u);
        }
    }

    /** {@return the number of live mappings} */
    public synchronized int mappingCount() {
        return mappings.size();
    }

    /** {@return whether {@code iova} lies inside a live mapping} */
    public synchronized boolean isMapped(long iova) {
        Map.Entry<Long, Long> e = mappings.floorEntry(iova);
        return e != null && iova - e.getKey() < e.getValue();
    }

    /** {@return the IOVA window {@code [base, limit)}} */
    public long[] window() {
        return new long[] {base, limit};
    }

    /**
     * Unmaps everything still mapped and refuses new mappings: called when the container closes, before its file
     * descriptor is closed. Owners may still unmap their (now released) mappings afterwards.
     */
    public synchronized void release() {
        if (closed) {
            return;
        }
        closed = true;
        if (!mappings.isEmpty()) {
            LOG.warn("{}: {} DMA mapping(s) still live at close; unmapping them", describe(), mappings.size());
        }
        for (Map.Entry<Long, Long> e : mappings.entrySet()) {
            try {
                unmapDma(e.getKey(), e.getValue());
            } catch (RuntimeException ex) {
                // Closing the container drops every mapping anyway; report and continue.
                LOG.warn("{}: unmapping IOVA 0x{} failed: {}", describe(), Long.toHexString(e.getKey()),
                        ex.getMessage());
            }
            iovas.free(e.getKey(), e.getValue());
            released.put(e.getKey(), e.getValue());
        }
        mappings.clear();
        tracked.values().forEach(LiveResources.Registration::close);
        tracked.clear();
    }

    @Override
    public String describe() {
        return "VFIO container (" + type + " IOMMU, IOVA [0x" + Long.toHexString(base) + ", 0x"
                + Long.toHexString(limit) + "))";
    }
}
