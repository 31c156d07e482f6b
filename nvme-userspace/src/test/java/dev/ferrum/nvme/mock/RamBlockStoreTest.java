package dev.ferrum.nvme.mock;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RamBlockStoreTest {
    private static final long CHUNK = RamBlockStore.CHUNK;

    @Test
    void aHugeNamespaceCostsNothingUntilWritten() {
        RamBlockStore s = new RamBlockStore(1L << 42); // 4 TiB
        assertEquals(0, s.allocatedBytes());
        byte[] one = {1, 2, 3};
        s.copyIn((1L << 42) - 3, MemorySegment.ofArray(one));
        assertEquals(CHUNK, s.allocatedBytes(), "one chunk for the last bytes");
        byte[] back = new byte[5];
        s.copyOut((1L << 42) - 5, MemorySegment.ofArray(back));
        assertArrayEquals(new byte[] {0, 0, 1, 2, 3}, back);
    }

    @Test
    void copiesCrossChunkBoundaries() {
        RamBlockStore s = new RamBlockStore(4 * CHUNK);
        byte[] data = new byte[(int) CHUNK + 1000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 13);
        }
        long at = CHUNK - 500;
        s.copyIn(at, MemorySegment.ofArray(data));
        assertEquals(3 * CHUNK, s.allocatedBytes(), "chunks 0, 1 and 2 touched");
        byte[] back = new byte[data.length];
        s.copyOut(at, MemorySegment.ofArray(back));
        assertArrayEquals(data, back);
        byte[] before = new byte[1];
        s.copyOut(at - 1, MemorySegment.ofArray(before));
        assertEquals(0, before[0]);
    }

    @Test
    void zeroingDropsWholeChunksAndClearsParts() {
        RamBlockStore s = new RamBlockStore(4 * CHUNK);
        byte[] ones = new byte[(int) (4 * CHUNK)];
        java.util.Arrays.fill(ones, (byte) 1);
        s.copyIn(0, MemorySegment.ofArray(ones));
        assertEquals(4 * CHUNK, s.allocatedBytes());
        s.zero(CHUNK - 10, CHUNK + 20); // the end of chunk 0, all of chunk 1, the start of chunk 2
        assertEquals(3 * CHUNK, s.allocatedBytes(), "chunk 1 dropped");
        MemorySegment all = MemorySegment.ofArray(new byte[(int) (4 * CHUNK)]);
        s.copyOut(0, all);
        assertEquals(1, all.get(ValueLayout.JAVA_BYTE, CHUNK - 11));
        assertEquals(0, all.get(ValueLayout.JAVA_BYTE, CHUNK - 10));
        assertEquals(0, all.get(ValueLayout.JAVA_BYTE, 2 * CHUNK + 9));
        assertEquals(1, all.get(ValueLayout.JAVA_BYTE, 2 * CHUNK + 10));
    }

    @Test
    void rejectsImpossibleSizes() {
        assertThrows(IllegalArgumentException.class, () -> new RamBlockStore(0));
        assertThrows(IllegalArgumentException.class, () -> new RamBlockStore(Long.MAX_VALUE));
    }
}
