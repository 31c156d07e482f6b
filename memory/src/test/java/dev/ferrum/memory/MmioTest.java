package dev.ferrum.memory;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MmioTest {

    @Test
    void everyWidthAndOrderingReadsBackLittleEndian() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(64, 8);
            Mmio io = Mmio.of(mem, "test BAR");
            io.write64(0, 0x0102030405060708L);
            assertEquals(0x08, mem.get(ValueLayout.JAVA_BYTE, 0), "least significant byte first");
            assertEquals(0x0102030405060708L, io.read64Relaxed(0));
            assertEquals(0x05060708, io.read32(0));
            assertEquals(0x01020304, io.read32Volatile(4));
            assertEquals((short) 0x0708, io.read16(0));
            assertEquals((byte) 0x07, io.read8Relaxed(1));
            io.write32Relaxed(8, 0xdeadbeef);
            io.write16Volatile(12, (short) 0x1234);
            io.write8(14, (byte) 0x56);
            io.write64Volatile(16, -1L);
            io.write16Relaxed(24, (short) 1);
            io.write8Volatile(26, (byte) 2);
            io.write64Relaxed(32, 5L);
            io.write32Volatile(40, 6);
            io.write8Relaxed(44, (byte) 7);
            io.write16(46, (short) 8);
            assertEquals(0xdeadbeef, mem.get(ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), 8));
            assertEquals(0x1234, io.read16Relaxed(12));
            assertEquals(0x56, io.read8(14));
            assertEquals(-1L, io.read64Volatile(16));
            assertEquals(1, io.read16Volatile(24));
            assertEquals(2, io.read8Volatile(26));
            assertEquals(5L, io.read64(32));
            assertEquals(6, io.read32Relaxed(40));
            assertEquals(7, io.read8(44));
            assertEquals(8, io.read16(46));
        }
    }

    @Test
    void outOfWindowAndMisalignedAccessesNameTheProblem() {
        try (Arena arena = Arena.ofConfined()) {
            Mmio io = Mmio.of(arena.allocate(0x1000, 8), "BAR0");
            IndexOutOfBoundsException oob = assertThrows(IndexOutOfBoundsException.class, () -> io.read32(0x1000L));
            assertEquals("MMIO 32-bit access at offset 0x1000 is outside 'BAR0' (4096 bytes)", oob.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> io.read64(0xffcL));
            assertThrows(IndexOutOfBoundsException.class, () -> io.write8(-1L, (byte) 0));
            assertThrows(IndexOutOfBoundsException.class, () -> io.read64(Long.MAX_VALUE));
            IllegalArgumentException mis = assertThrows(IllegalArgumentException.class, () -> io.write32(0x1eL, 1));
            assertEquals("MMIO 32-bit access at offset 0x1e of 'BAR0' is not 4-byte aligned", mis.getMessage());
            assertThrows(IllegalArgumentException.class, () -> io.read16(1L));
        }
    }

    @Test
    void regionIsASubWindow() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(0x2000, 8);
            Mmio bar = Mmio.of(mem, "BAR0");
            Mmio doorbells = bar.region(0x1000, 0x100, "doorbells");
            doorbells.write32(8L, 42);
            assertEquals(42, bar.read32(0x1008L));
            assertThrows(IndexOutOfBoundsException.class, () -> doorbells.read32(0x100L));
            assertThrows(IndexOutOfBoundsException.class, () -> bar.region(0x1f00, 0x200, "too long"));
        }
    }

    @Test
    void accessAfterRevocationThrowsRevoked() {
        Arena arena = Arena.ofShared();
        Mmio io = Mmio.of(arena.allocate(4096, 8), "BAR0 of 0000:01:00.0");
        io.write32(0L, 1);
        assertTrue(io.isAccessible());
        arena.close();
        assertFalse(io.isAccessible());
        RevokedException e = assertThrows(RevokedException.class, () -> io.read32(0L));
        assertTrue(e.getMessage().contains("'BAR0 of 0000:01:00.0' was revoked"), e.getMessage());
        assertInstanceOf(IllegalStateException.class, e);
        assertThrows(RevokedException.class, () -> io.write64(8L, 1L));
    }

    @Test
    void aWindowMustBeNativeMemory() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Mmio.of(MemorySegment.ofArray(new long[8]), "heap BAR"));
        assertEquals("MMIO window 'heap BAR' is a heap segment: a register window must be native memory (a mapped"
                + " BAR, or off-heap memory standing in for one)", e.getMessage());
    }

    @Test
    void aWindowWhoseBaseIsNotEightByteAlignedIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(0x100, 8);
            // With base+1, read32(3) would be aligned in absolute terms but misaligned within the window.
            for (long skew : new long[] {1, 2, 4}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Mmio.of(mem.asSlice(skew), "skewed BAR"));
                assertTrue(e.getMessage().startsWith("MMIO window 'skewed BAR' starts at 0x"
                        + Long.toHexString(mem.address() + skew) + ", which is not 8-byte aligned"), e.getMessage());
            }
            assertEquals(0xf8, Mmio.of(mem.asSlice(8), "aligned").size(), "an 8-byte-aligned base is fine");
        }
    }

    @Test
    void aRegionMustStartEightByteAligned() {
        try (Arena arena = Arena.ofConfined()) {
            Mmio bar = Mmio.of(arena.allocate(0x2000, 4096), "BAR0");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bar.region(0x1004, 0x10, "doorbell"));
            assertEquals("MMIO region 'doorbell' at offset 0x1004 of 'BAR0' is not 8-byte aligned", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> bar.region(3, 8, "odd"));
            assertEquals(0x10, bar.region(0x1008, 0x10, "doorbell").size());
        }
    }

    @Test
    void nullOrEmptyWindowIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Mmio.of(MemorySegment.NULL, "BAR0"));
        assertTrue(e.getMessage().contains("NULL"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Mmio.of(null, "BAR0"));
    }
}
