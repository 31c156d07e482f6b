package dev.ferrum.memory;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A test address space: IOVAs from an {@link IovaAllocator}, with the live mappings observable. */
final class RecordingAddressSpace implements DeviceAddressSpace {
    final IovaAllocator iovas = new IovaAllocator(0x1000_0000L, 0x1_0000_0000L);
    final Map<Long, MemorySegment> mappings = new ConcurrentHashMap<>();
    volatile boolean failUnmap;
    volatile boolean requireHugePages;

    @Override
    public boolean requiresHugePages() {
        return requireHugePages;
    }

    @Override
    public long map(MemorySegment segment) {
        DmaChecks.requireMappable(segment, pageSize());
        long iova = iovas.allocate(segment.byteSize(), pageSize());
        mappings.put(iova, segment);
        return iova;
    }

    @Override
    public void unmap(long deviceAddress, long size) {
        if (failUnmap) {
            throw new IllegalStateException("injected unmap failure");
        }
        iovas.free(deviceAddress, size);
        mappings.remove(deviceAddress);
    }

    @Override
    public String describe() {
        return "recording test address space";
    }
}
