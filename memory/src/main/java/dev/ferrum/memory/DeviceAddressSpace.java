package dev.ferrum.memory;

import dev.ferrum.sys.SyscallException;

import java.lang.foreign.MemorySegment;

/**
 * The address space in which a device sees host memory: the IOMMU domain of a VFIO container, a mock IOMMU in
 * tests, or the identity (device address = virtual address) for memory that no device reads.
 *
 * <p>{@link DmaPool} maps every buffer it allocates and unmaps it before the memory is freed, so a device can
 * reach exactly the buffers that are alive. Implementations are thread-safe.
 *
 * <p>Invariants an implementation keeps: a device address returned by {@link #map} stays valid until the matching
 * {@link #unmap}; two live mappings never overlap; {@code unmap} of a range that is not mapped exactly as given
 * throws instead of unmapping something else.
 */
public interface DeviceAddressSpace {

    /**
     * Makes {@code segment} reachable by the device.
     *
     * @param segment page-aligned native memory, a whole number of {@link #pageSize() pages} long, that stays
     *                allocated until it is unmapped
     * @return the device address (IOVA) of the segment's first byte, aligned at least to the page size
     * @throws IllegalArgumentException if the segment is not native, not page aligned, or empty
     * @throws IllegalStateException    if the address space is closed or exhausted
     */
    long map(MemorySegment segment);

    /**
     * Removes a mapping made by {@link #map}. After this returns the device can no longer reach the memory.
     *
     * @throws IllegalArgumentException if {@code [deviceAddress, deviceAddress + size)} is not a live mapping
     */
    void unmap(long deviceAddress, long size);

    /** {@return the smallest unit of mapping, in bytes (a power of two, at least 4096)} */
    default long pageSize() {
        return 4096;
    }

    /**
     * {@return whether DMA memory in this space must be 2 MiB huge pages} True where the device sees physical
     * addresses (no IOMMU): only a page of the kernel's huge-page pool is physically contiguous and stays where it
     * is; ordinary pages, transparent huge pages included, may be split or moved by the kernel at any time, and the
     * device would then write to memory that is no longer the buffer. {@link DmaPool} refuses anything else here.
     * Default {@code false}.
     */
    default boolean requiresHugePages() {
        return false;
    }

    /**
     * {@return what {@link DmaPool} throws when {@code size} bytes of DMA memory for this space cannot be locked in
     * RAM ({@code mlock} failed with {@code cause}, under {@link DmaPool.MemoryLock#REQUIRE})} By default
     * {@code failure}, the pool's own {@link IllegalStateException} naming {@code RLIMIT_MEMLOCK} and how to raise
     * it. A backend whose users expect its own exception for that limit returns it instead (VFIO: a
     * {@code VfioException} with reason {@code MEMLOCK_LIMIT}, the same as when {@code VFIO_IOMMU_MAP_DMA} hits the
     * limit); it must not return a {@link SyscallException}, which the pool reads as a shortage of huge pages.
     */
    default RuntimeException memoryLockFailed(long size, SyscallException cause, IllegalStateException failure) {
        return failure;
    }

    /** {@return a short description for messages, e.g. {@code "VFIO container (type1v2 IOMMU)"}} */
    String describe();

    /**
     * {@return an address space in which the device address of memory is its virtual address}
     * For CPU-only buffers and unit tests: nothing is mapped anywhere, and no device should be given these
     * addresses.
     */
    static DeviceAddressSpace identity() {
        return IdentityAddressSpace.INSTANCE;
    }
}
