package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.DmaEngine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A medium backed by a file, memory-mapped whole: data persists across controller instances, Flush forces it to
 * disk. A file shorter than the namespace is extended (sparsely, where the file system allows).
 *
 * <p>Invariants: the mapping covers exactly {@code size()} bytes and lives as long as this store (it is unmapped
 * when the store becomes unreachable).
 */
final class FileBlockStore extends BlockStore {
    private final Path file;
    private final MemorySegment map;

    FileBlockStore(Path file, long size) {
        this.file = file;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            if (ch.size() < size) {
                ch.write(ByteBuffer.allocate(1), size - 1);
            }
            this.map = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, Arena.ofAuto());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use " + file + " as a " + size + "-byte NVMe namespace", e);
        }
    }

    @Override
    long size() {
        return map.byteSize();
    }

    @Override
    void toHost(DmaEngine dma, long offset, long length, long iova) {
        dma.write(iova, map.asSlice(offset, length));
    }

    @Override
    void fromHost(DmaEngine dma, long offset, long length, long iova) {
        dma.read(iova, map.asSlice(offset, length));
    }

    @Override
    void zero(long offset, long length) {
        map.asSlice(offset, length).fill((byte) 0);
    }

    @Override
    void flush() {
        map.force();
    }

    @Override
    void copyOut(long offset, MemorySegment dst) {
        MemorySegment.copy(map, offset, dst, 0, dst.byteSize());
    }

    @Override
    void copyIn(long offset, MemorySegment src) {
        MemorySegment.copy(src, 0, map, offset, src.byteSize());
    }

    @Override
    long allocatedBytes() {
        return map.byteSize();
    }

    @Override
    public String toString() {
        return "FileBlockStore[" + file + ", " + map.byteSize() + " bytes]";
    }
}
