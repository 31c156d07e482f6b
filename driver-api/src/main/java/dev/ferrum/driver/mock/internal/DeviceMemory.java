package dev.ferrum.driver.mock.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Second views of memory for the mock backend, as hardware has them: the driver's view of a model's BAR, and the
 * device's view of host memory behind the mock IOMMU. Each view has its own lifetime (an arena), so it can be
 * revoked without freeing the memory, exactly like unmapping a BAR or an IOMMU entry.
 *
 * <p>Invariants: a view covers exactly its target's bytes; it is never made over memory already freed; its
 * lifetime is the caller's arena, which the caller closes before the target's memory is freed.
 */
public final class DeviceMemory {
    private DeviceMemory() {}

    /**
     * {@return a view of {@code target}'s memory whose lifetime is {@code arena}}
     * The caller guarantees {@code target} stays allocated until {@code arena} is closed (callers: the mock bus closes
     * every BAR view before freeing a model's BAR memory; the mock IOMMU closes a mapping's view before the DMA
     * buffer's memory is freed, because {@link dev.ferrum.memory.DmaPool} unmaps before it frees). A view is never
     * built over memory that is already freed: that is refused here, and the callers hold the lock that orders
     * this call before any free of {@code target} (the mock function's lock; for DMA memory, the pool that owns it and maps it before it can free it).
     *
     * @throws IllegalStateException if {@code target}'s memory has already been freed
     */
    public static MemorySegment view(MemorySegment target, Arena arena) {
        if (!target.scope().isAlive()) {
            throw new IllegalStateException("refusing a view of freed memory (" + target.byteSize()
                    + " bytes): its owner was closed");
        }
        // SAFETY: the view covers exactly target's bytes, and per the contract above the memory outlives the
        // view's arena; closing a shared arena waits for accesses in progress, so no access follows the free.
        return MemorySegment.ofAddress(target.address()).reinterpret(target.byteSize(), arena, null);
    }
}
