package dev.ferrum.nvme.fuzz;

import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaPool;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the NVMe fuzz targets share: a DMA pool whose "device" is the fuzz target itself (an address space that
 * remembers each mapped segment by its device address, so a target can write device-side data such as completion
 * entries into the very memory the driver reads).
 */
final class FuzzMemory {
    private FuzzMemory() {}

    /** An address space whose device is the fuzz target: IOVAs are handed out sequentially, never reused. */
    static final class TargetAddressSpace implements DeviceAddressSpace {
        private final AtomicLong next = new AtomicLong(0x1000_0000L);
        private final Map<Long, MemorySegment> mapped = new ConcurrentHashMap<>();

        @Override
        public long map(MemorySegment segment) {
            long iova = next.getAndAdd(segment.byteSize());
            mapped.put(iova, segment);
            return iova;
        }

        @Override
        public void unmap(long deviceAddress, long size) {
            if (mapped.remove(deviceAddress) == null) {
                throw new IllegalArgumentException("no mapping at 0x" + Long.toHexString(deviceAddress));
            }
        }

        /** {@return the memory mapped at {@code iova}: the device's view of it} */
        MemorySegment at(long iova) {
            MemorySegment s = mapped.get(iova);
            if (s == null) {
                throw new IllegalArgumentException("nothing mapped at 0x" + Long.toHexString(iova));
            }
            return s;
        }

        @Override
        public String describe() {
            return "fuzz target address space";
        }
    }

    static final TargetAddressSpace SPACE = new TargetAddressSpace();
    /** Shared by every input; each input frees what it allocated (the leak check holds it to that). */
    static final DmaPool POOL = DmaPool.builder(SPACE).name("fuzz").memoryLock(DmaPool.MemoryLock.BEST_EFFORT)
            .build();
}
