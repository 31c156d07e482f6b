package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.DmaEngine;

import java.lang.foreign.MemorySegment;

/**
 * The medium behind one namespace: bytes addressed by offset, moved to and from host memory through the
 * controller's {@link DmaEngine} (so every access goes through the mock IOMMU). Unwritten and deallocated bytes
 * read as zero.
 *
 * <p>Invariants: offsets and lengths passed in are inside {@code [0, size())} (the controller checks LBA ranges
 * before it calls); a DMA fault propagates as {@link dev.ferrum.driver.mock.IommuFaultException} and leaves the
 * bytes already transferred in place, as a real device may.
 */
abstract sealed class BlockStore permits RamBlockStore, FileBlockStore {

    /** {@return the size in bytes} */
    abstract long size();

    /** Copies {@code [offset, offset + length)} of the medium to device address {@code iova}. */
    abstract void toHost(DmaEngine dma, long offset, long length, long iova);

    /** Copies {@code length} bytes from device address {@code iova} to the medium at {@code offset}. */
    abstract void fromHost(DmaEngine dma, long offset, long length, long iova);

    /** Zeroes (deallocates where possible) {@code [offset, offset + length)}. */
    abstract void zero(long offset, long length);

    /** Makes written data durable (a no-op for RAM). */
    abstract void flush();

    /** Copies medium bytes at {@code offset} into {@code dst} (for tests; not ordered against commands). */
    abstract void copyOut(long offset, MemorySegment dst);

    /** Copies {@code src} to the medium at {@code offset} (for tests; not ordered against commands). */
    abstract void copyIn(long offset, MemorySegment src);

    /** {@return the bytes of memory or file actually backing data (sparse stores allocate on first write)} */
    abstract long allocatedBytes();
}
