package dev.ferrum.memory;

import dev.ferrum.memory.internal.PageMemory;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A pool whose memory must be locked, when {@code mlock} fails: the address space decides what the caller gets
 * ({@link DeviceAddressSpace#memoryLockFailed}), by default an {@link IllegalStateException} naming
 * {@code RLIMIT_MEMLOCK}. The failure is injected by a page source that fails as {@code mlock} over the limit does.
 */
class DmaPoolLockFailureTest {
    /** Fails every allocation as {@link PageMemory#map} does when {@code mlock} returns ENOMEM. */
    private static final DmaPool.PageSource OVER_THE_LIMIT = new DmaPool.PageSource() {
        @Override
        public String hugePagesUnavailableReason() {
            return "none in this test";
        }

        @Override
        public PageMemory.Mapped map(long size, boolean huge, PageMemory.Lock lock, Arena arena) {
            assertEquals(PageMemory.Lock.REQUIRE, lock);
            throw PageMemory.memlockFailure(size, new SyscallException("mlock(0x1000, " + size + ")", Errno.ENOMEM));
        }
    };

    /** An address space with an exception of its own for the memlock limit, recording what it was told. */
    private static final class ClassifyingAddressSpace implements DeviceAddressSpace {
        final RecordingAddressSpace mappings = new RecordingAddressSpace();
        final RuntimeException own = new UnsupportedOperationException("the backend's own memlock exception");
        long size;
        SyscallException cause;

        @Override
        public long map(MemorySegment segment) {
            return mappings.map(segment);
        }

        @Override
        public void unmap(long deviceAddress, long size) {
            mappings.unmap(deviceAddress, size);
        }

        @Override
        public String describe() {
            return "classifying test address space";
        }

        @Override
        public RuntimeException memoryLockFailed(long size, SyscallException cause, IllegalStateException failure) {
            this.size = size;
            this.cause = cause;
            return own;
        }
    }

    @Test
    void byDefaultAnMlockFailureIsAnIllegalStateExceptionNamingTheLimit() {
        RecordingAddressSpace space = new RecordingAddressSpace();
        try (DmaPool pool = DmaPool.builder(space).pageSource(OVER_THE_LIMIT).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.allocate(5000));
            assertTrue(e.getMessage().startsWith("cannot lock 8 KiB of DMA memory in RAM"), e.getMessage());
            assertTrue(e.getMessage().contains("RLIMIT_MEMLOCK"), e.getMessage());
            assertEquals(0, space.mappings.size(), "nothing was mapped");
        }
    }

    @Test
    void theAddressSpaceMayTurnAnMlockFailureIntoItsOwnException() {
        ClassifyingAddressSpace space = new ClassifyingAddressSpace();
        try (DmaPool pool = DmaPool.builder(space).pageSource(OVER_THE_LIMIT).build()) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> pool.allocate(5000));
            assertSame(space.own, e);
            assertEquals(8192, space.size, "the rounded-up size that could not be locked");
            assertEquals(Errno.ENOMEM, space.cause.errno());
            assertEquals(0, space.mappings.mappings.size(), "nothing was mapped");
            assertEquals(0, pool.liveBuffers(), "no buffer is left behind");
        }
    }
}
