package dev.ferrum.memory;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DmaBufferTest {
    private final RecordingAddressSpace space = new RecordingAddressSpace();
    private final DmaPool pool = DmaPool.builder(space).name("test").build();

    @AfterEach
    void closePool() {
        pool.close();
        assertEquals(0, space.iovas.liveAllocations(), "every IOVA mapping was released");
    }

    @Test
    void allocationIsPageAlignedRoundedAndMapped() {
        DmaBuffer b = pool.allocate(100);
        assertEquals(4096, b.byteSize(), "rounded up to one page");
        assertEquals(0, b.segment().address() % 4096);
        assertEquals(0, b.deviceAddress() % 4096);
        assertTrue(space.iovas.isAllocated(b.deviceAddress()));
        assertEquals(b.segment().address(), space.mappings.get(b.deviceAddress()).address(),
                "the device address maps to the buffer's memory");
        assertEquals(0L, b.segment().get(ValueLayout.JAVA_LONG, 4088), "memory starts zeroed");
        long iova = b.deviceAddress();
        b.close();
        assertFalse(space.iovas.isAllocated(iova), "closing unmaps from the device");
        assertFalse(b.isAlive());
    }

    @Test
    void slicesKeepDeviceAddresses() {
        try (DmaBuffer b = pool.allocate(3 * 4096)) {
            DmaBuffer s = b.slice(4096 + 64, 512);
            assertEquals(b.deviceAddress() + 4096 + 64, s.deviceAddress());
            assertEquals(b.deviceAddress() + 4096 + 64 + 8, s.deviceAddress(8));
            s.segment().set(ValueLayout.JAVA_INT, 0, 0xabcd);
            assertEquals(0xabcd, b.segment().get(ValueLayout.JAVA_INT, 4096 + 64), "a slice views the same memory");
            assertEquals(b.deviceAddress() + 100, b.slice(100, 10).deviceAddress(0));
            assertThrows(IndexOutOfBoundsException.class, () -> s.deviceAddress(512));
            assertThrows(IndexOutOfBoundsException.class, () -> b.slice(3 * 4096 - 8, 16));
            IllegalStateException e = assertThrows(IllegalStateException.class, s::close);
            assertTrue(e.getMessage().contains("cannot close a slice"), e.getMessage());
        }
    }

    @Test
    void pinnedBufferRefusesToBeFreedUntilUnpinned() {
        DmaBuffer b = pool.allocate(4096);
        b.pin();
        b.slice(0, 64).pin();
        assertEquals(2, b.pinCount());
        IllegalStateException e = assertThrows(IllegalStateException.class, b::close);
        assertTrue(e.getMessage().contains("pinned by 2 in-flight"), e.getMessage());
        assertTrue(b.isAlive(), "a refused close leaves the buffer alive and mapped");
        assertTrue(space.iovas.isAllocated(b.deviceAddress()));
        b.unpin();
        b.unpin();
        assertThrows(IllegalStateException.class, b::unpin, "unbalanced unpin is reported");
        b.close();
        assertThrows(IllegalStateException.class, b::pin, "pin after close");
    }

    @Test
    void pinAsResourceReleasesOnce() {
        try (DmaBuffer b = pool.allocate(4096)) {
            DmaBuffer.Pin p = b.pinned();
            assertEquals(1, b.pinCount());
            p.close();
            assertEquals(0, b.pinCount());
            assertThrows(IllegalStateException.class, p::close);
            assertEquals(0, b.pinCount(), "a second close of the pin does not unpin again");
        }
    }

    @Test
    void segmentAccessorRefusesAfterClose() {
        DmaBuffer b = pool.allocate(4096);
        b.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, b::segment);
        assertTrue(e.getMessage().contains("use after free"), e.getMessage());
    }

    @Test
    void deviceAddressRefusesAfterCloseBecauseTheIovaIsReused() {
        DmaBuffer freed = pool.allocate(4096);
        DmaBuffer slice = freed.slice(64, 64);
        long staleIova = freed.deviceAddress();
        freed.close();
        try (DmaBuffer next = pool.allocate(4096)) {
            assertEquals(staleIova, next.deviceAddress(),
                    "the allocator hands the freed IOVA range to the next buffer: a stale address would hit it");
            for (var op : java.util.List.<org.junit.jupiter.api.function.Executable>of(
                    freed::deviceAddress, () -> freed.deviceAddress(8), slice::deviceAddress,
                    () -> slice.deviceAddress(0))) {
                IllegalStateException e = assertThrows(IllegalStateException.class, op);
                assertTrue(e.getMessage().contains("deviceAddress(") && e.getMessage().contains("use after free")
                        && e.getMessage().contains("pool 'test'"), e.getMessage());
            }
        }
    }

    @Test
    void poolCloseFreesLiveBuffersAndReportsPinnedOnes() {
        DmaPool p = DmaPool.builder(space).name("closing").build();
        long before = DmaPool.liveBuffersGlobally();
        DmaBuffer a = p.allocate(4096);
        DmaBuffer b = p.allocate(8192);
        assertEquals(before + 2, DmaPool.liveBuffersGlobally());
        b.pin();
        IllegalStateException e = assertThrows(IllegalStateException.class, p::close);
        assertTrue(e.getMessage().contains("1 buffer(s) still allocated"), e.getMessage());
        assertFalse(a.isAlive());
        assertTrue(b.isAlive(), "pinned buffer is not freed under the device");
        assertThrows(IllegalStateException.class, () -> p.allocate(4096), "closed pool allocates nothing");
        b.unpin();
        b.close();
        assertEquals(before, DmaPool.liveBuffersGlobally());
        assertEquals(0, p.liveBuffers());
    }

    @Test
    void badSizesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> pool.allocate(0));
        assertThrows(IllegalArgumentException.class, () -> pool.allocate(-4096));
        assertThrows(IllegalArgumentException.class, () -> pool.allocate(Long.MAX_VALUE - 10));
    }

    @Test
    void failedUnmapKeepsTheMemoryRatherThanFreeingItUnderTheDevice() {
        DmaBuffer b = pool.allocate(4096);
        space.failUnmap = true;
        IllegalStateException e = assertThrows(IllegalStateException.class, b::close);
        assertTrue(e.getMessage().contains("kept allocated"), e.getMessage());
        assertEquals(1, pool.liveBuffers(), "the buffer is still accounted as live");
        space.failUnmap = false;
        pool.close(); // unmapping works again: closing the pool unmaps and frees the kept memory
        assertEquals(0, pool.liveBuffers());
        assertTrue(space.mappings.isEmpty(), "unmapped");
    }

    @Test
    void hugePagePolicy() {
        String unavailable = dev.ferrum.memory.internal.PageMemory.hugePagesUnavailableReason();
        try (DmaPool prefer = DmaPool.builder(space).name("huge").hugePages(DmaPool.HugePages.PREFER).build()) {
            assertEquals(unavailable == null, prefer.usesHugePages());
            try (DmaBuffer b = prefer.allocate(1)) {
                assertEquals(prefer.pageSize(), b.byteSize());
                assertEquals(0, b.segment().address() % prefer.pageSize());
            }
        }
        if (unavailable != null) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> DmaPool.builder(space).hugePages(DmaPool.HugePages.REQUIRE).build());
            assertTrue(e.getMessage().contains("requires 2 MiB huge pages") && e.getMessage().contains("nr_hugepages"),
                    e.getMessage());
        } else {
            try (DmaPool require = DmaPool.builder(space).hugePages(DmaPool.HugePages.REQUIRE).build()) {
                assertEquals(2L << 20, require.pageSize());
            }
        }
    }

    @Test
    void anAddressSpaceThatRequiresHugePagesGetsNothingElse() {
        space.requireHugePages = true;
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> DmaPool.builder(space).name("small").hugePages(DmaPool.HugePages.NEVER).build());
        assertTrue(small.getMessage().contains("recording test address space needs 2 MiB huge pages"),
                small.getMessage());
        String unavailable = dev.ferrum.memory.internal.PageMemory.hugePagesUnavailableReason();
        if (unavailable != null) {
            // PREFER must not fall back to 4 KiB pages here: it fails as REQUIRE does.
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> DmaPool.builder(space).hugePages(DmaPool.HugePages.PREFER).build());
            assertTrue(e.getMessage().contains("requires 2 MiB huge pages"), e.getMessage());
        } else {
            try (DmaPool prefer = DmaPool.builder(space).hugePages(DmaPool.HugePages.PREFER).build()) {
                assertTrue(prefer.usesHugePages());
            }
        }
    }

    @Test
    void confinedBufferCannotBeClosedFromAnotherThread() throws Exception {
        DmaBuffer b = pool.allocateConfined(4096);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> CompletableFuture.runAsync(b::close).get());
        assertInstanceOf(WrongThreadException.class, e.getCause());
        assertTrue(b.isAlive());
        b.close();
    }

    @Test
    void dmaArrayIndexesElements() {
        var layout = java.lang.foreign.MemoryLayout.structLayout(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);
        try (DmaArray ring = DmaArray.allocate(pool, layout, 10)) {
            assertEquals(16, ring.stride());
            assertEquals(ring.buffer().deviceAddress() + 48, ring.deviceAddressOf(3));
            ring.element(9).set(ValueLayout.JAVA_LONG, 8, 7L);
            assertEquals(7L, ring.buffer().segment().get(ValueLayout.JAVA_LONG, 9 * 16 + 8));
            assertThrows(IndexOutOfBoundsException.class, () -> ring.offsetOf(10));
            assertThrows(IndexOutOfBoundsException.class, () -> ring.deviceAddressOf(-1));
        }
    }
}
