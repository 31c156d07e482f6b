package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.DmaEngine;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A sparse in-memory medium: 64 KiB heap chunks allocated on first write, found through a two-level directory
 * (so a multi-terabyte namespace costs nothing until written). Chunks that are entirely deallocated or zeroed are
 * dropped again.
 *
 * <p>Invariants: a chunk, once published in the directory, is fully constructed (published with release, read with
 * acquire); a missing chunk reads as zeroes; chunk creation races between the controller thread and a test thread
 * ({@link #copyIn}) resolve by compare-and-set, so no write is lost to a replaced chunk.
 */
final class RamBlockStore extends BlockStore {
    static final int CHUNK_SHIFT = 16;
    static final long CHUNK = 1L << CHUNK_SHIFT;
    private static final int LEAF_SHIFT = 12;
    private static final int LEAF = 1 << LEAF_SHIFT;
    private static final VarHandle LEAVES = MethodHandles.arrayElementVarHandle(MemorySegment[][].class);
    private static final VarHandle CHUNKS = MethodHandles.arrayElementVarHandle(MemorySegment[].class);

    private final long size;
    private final MemorySegment[][] directory;

    RamBlockStore(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("store size must be positive, was " + size);
        }
        long chunks = (size >>> CHUNK_SHIFT) + ((size & (CHUNK - 1)) != 0 ? 1 : 0);
        long leaves = (chunks >>> LEAF_SHIFT) + ((chunks & (LEAF - 1)) != 0 ? 1 : 0);
        if (leaves > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("namespace of " + size + " bytes is too large for a RAM store");
        }
        this.size = size;
        this.directory = new MemorySegment[(int) leaves][];
    }

    @Override
    long size() {
        return size;
    }

    private MemorySegment chunk(long index, boolean create) {
        int l = (int) (index >>> LEAF_SHIFT);
        int c = (int) (index & (LEAF - 1));
        MemorySegment[] leaf = (MemorySegment[]) LEAVES.getAcquire(directory, l);
        if (leaf == null) {
            if (!create) {
                return null;
            }
            MemorySegment[] fresh = new MemorySegment[LEAF];
            MemorySegment[] won = (MemorySegment[]) LEAVES.compareAndExchangeRelease(directory, l, null, fresh);
            leaf = won == null ? fresh : won;
        }
        MemorySegment chunk = (MemorySegment) CHUNKS.getAcquire(leaf, c);
        if (chunk == null && create) {
            MemorySegment fresh = MemorySegment.ofArray(new byte[(int) CHUNK]);
            MemorySegment won = (MemorySegment) CHUNKS.compareAndExchangeRelease(leaf, c, null, fresh);
            chunk = won == null ? fresh : won;
        }
        return chunk;
    }

    @Override
    void toHost(DmaEngine dma, long offset, long length, long iova) {
        while (length > 0) {
            long within = offset & (CHUNK - 1);
            long n = Math.min(length, CHUNK - within);
            MemorySegment c = chunk(offset >>> CHUNK_SHIFT, false);
            if (c == null) {
                dma.fill(iova, n, (byte) 0);
            } else {
                dma.write(iova, c.asSlice(within, n));
            }
            offset += n;
            iova += n;
            length -= n;
        }
    }

    @Override
    void fromHost(DmaEngine dma, long offset, long length, long iova) {
        while (length > 0) {
            long within = offset & (CHUNK - 1);
            long n = Math.min(length, CHUNK - within);
            dma.read(iova, chunk(offset >>> CHUNK_SHIFT, true).asSlice(within, n));
            offset += n;
            iova += n;
            length -= n;
        }
    }

    @Override
    void zero(long offset, long length) {
        while (length > 0) {
            long index = offset >>> CHUNK_SHIFT;
            long within = offset & (CHUNK - 1);
            long n = Math.min(length, CHUNK - within);
            MemorySegment[] leaf = (MemorySegment[]) LEAVES.getAcquire(directory, (int) (index >>> LEAF_SHIFT));
            if (leaf != null) {
                int c = (int) (index & (LEAF - 1));
                if (n == CHUNK) {
                    CHUNKS.setRelease(leaf, c, null);
                } else {
                    MemorySegment chunk = (MemorySegment) CHUNKS.getAcquire(leaf, c);
                    if (chunk != null) {
                        chunk.asSlice(within, n).fill((byte) 0);
                    }
                }
            }
            offset += n;
            length -= n;
        }
    }

    @Override
    void flush() {
        // Nothing is volatile beyond the heap itself.
    }

    @Override
    void copyOut(long offset, MemorySegment dst) {
        copy(offset, dst, false);
    }

    @Override
    void copyIn(long offset, MemorySegment src) {
        copy(offset, src, true);
    }

    private void copy(long offset, MemorySegment other, boolean in) {
        long done = 0;
        while (done < other.byteSize()) {
            long at = offset + done;
            long within = at & (CHUNK - 1);
            long n = Math.min(other.byteSize() - done, CHUNK - within);
            MemorySegment c = chunk(at >>> CHUNK_SHIFT, in);
            if (in) {
                MemorySegment.copy(other, done, c, within, n);
            } else if (c == null) {
                other.asSlice(done, n).fill((byte) 0);
            } else {
                MemorySegment.copy(c, within, other, done, n);
            }
            done += n;
        }
    }

    @Override
    long allocatedBytes() {
        long chunks = 0;
        for (int l = 0; l < directory.length; l++) {
            MemorySegment[] leaf = (MemorySegment[]) LEAVES.getAcquire(directory, l);
            if (leaf != null) {
                for (int c = 0; c < LEAF; c++) {
                    if (CHUNKS.getAcquire(leaf, c) != null) {
                        chunks++;
                    }
                }
            }
        }
        return chunks * CHUNK;
    }
}
