package dev.ferrum.memory;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IovaAllocatorTest {

    @Test
    void allocatesAlignedDisjointRanges() {
        IovaAllocator a = new IovaAllocator(0x1000, 0x100000);
        long x = a.allocate(0x1000, 0x1000);
        long y = a.allocate(0x3000, 0x10000);
        assertEquals(0x1000, x);
        assertEquals(0x10000, y, "aligned up to 64 KiB");
        long z = a.allocate(0x1000, 0x1000);
        assertEquals(0x2000, z, "first fit uses the gap left by alignment");
        assertTrue(a.isAllocated(y + 0x2fff));
        assertFalse(a.isAllocated(y + 0x3000));
        assertEquals(0x100000 - 0x1000 - 0x5000, a.freeBytes());
    }

    @Test
    void freeCoalescesSoTheWholeWindowCanBeReused() {
        IovaAllocator a = new IovaAllocator(0, 0x4000);
        long p = a.allocate(0x1000, 0x1000);
        long q = a.allocate(0x1000, 0x1000);
        long r = a.allocate(0x2000, 0x1000);
        assertThrows(IllegalStateException.class, () -> a.allocate(0x1000, 0x1000));
        a.free(q, 0x1000);
        a.free(p, 0x1000);
        a.free(r, 0x2000);
        assertEquals(0, a.allocate(0x4000, 0x1000), "freed neighbours merged into one range");
    }

    @Test
    void doubleAndPartialFreesAreReported() {
        IovaAllocator a = new IovaAllocator(0, 0x10000);
        long p = a.allocate(0x2000, 0x1000);
        IllegalArgumentException partial = assertThrows(IllegalArgumentException.class, () -> a.free(p, 0x1000));
        assertTrue(partial.getMessage().contains("allocated with 8192 bytes, freed with 4096"), partial.getMessage());
        a.free(p, 0x2000);
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> a.free(p, 0x2000));
        assertTrue(twice.getMessage().contains("double free"), twice.getMessage());
        assertEquals(0x10000, a.freeBytes(), "failed frees changed nothing");
    }

    @Test
    void exhaustionSaysWhatIsLeft() {
        IovaAllocator a = new IovaAllocator(0, 0x3000);
        a.allocate(0x1000, 0x1000);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.allocate(0x3000, 0x1000));
        assertTrue(e.getMessage().contains("8192 bytes free in 1 fragment"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.allocate(0x1000, 3000));
        assertThrows(IllegalArgumentException.class, () -> new IovaAllocator(10, 10));
    }
}
