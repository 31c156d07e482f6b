package dev.ferrum.driver.vfio.internal;

import dev.ferrum.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A BAR of a VFIO device mapped into memory: {@code mmap} of the device file at the region's offset, as a
 * {@link MemorySegment} whose lifetime is an {@link Arena}. Closing the arena unmaps it. This is the only place
 * the VFIO backend turns a raw address into a segment.
 *
 * <p>Invariants: a returned segment covers exactly the mapped bytes; the mapping is unmapped exactly once, when its
 * arena closes (or before {@code map} throws, if the arena was already closed); no segment outlives its mapping.
 */
public final class BarMapping {
    private BarMapping() {}

    /**
     * Maps {@code length} bytes of the device file {@code deviceFd} at {@code offset}.
     *
     * @param writable map read-write (else read-only)
     * @param what     names the mapping in error messages, e.g. {@code "BAR0 of 0000:01:00.0"}
     * @return the mapping, bound to {@code arena}
     */
    public static MemorySegment map(int deviceFd, long offset, long length, boolean writable, Arena arena,
                                    String what) {
        int prot = Syscalls.PROT_READ | (writable ? Syscalls.PROT_WRITE : 0);
        long address = Syscalls.mmap(length, prot, Syscalls.MAP_SHARED, deviceFd, offset, what);
        try {
            // SAFETY: a fresh shared mapping of exactly [address, address + length) that only this segment refers
            // to; the kernel keeps the device alive while it is mapped. The cleanup unmaps it once, when the arena
            // closes, which for a shared arena waits until no thread is inside an access.
            return MemorySegment.ofAddress(address).reinterpret(length, arena, s -> Syscalls.munmap(address, length));
        } catch (RuntimeException e) {
            // The arena was already closed: the cleanup was not registered, so unmap here.
            Syscalls.munmap(address, length);
            throw e;
        }
    }
}
