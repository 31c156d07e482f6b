package dev.ferrum.memory;

import java.lang.foreign.MemorySegment;

/** See {@link DeviceAddressSpace#identity()}. Stateless. */
final class IdentityAddressSpace implements DeviceAddressSpace {
    static final IdentityAddressSpace INSTANCE = new IdentityAddressSpace();

    private IdentityAddressSpace() {}

    @Override
    public long map(MemorySegment segment) {
        DmaChecks.requireMappable(segment, pageSize());
        return segment.address();
    }

    @Override
    public void unmap(long deviceAddress, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("unmap of " + size + " bytes at 0x" + Long.toHexString(deviceAddress));
        }
    }

    @Override
    public String describe() {
        return "identity address space (device address = virtual address)";
    }
}
