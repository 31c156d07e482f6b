package dev.ferrum.memory;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A DMA buffer holding {@code length} elements of one layout (descriptor rings, queue entries): index-checked
 * element offsets and device addresses. The counterpart of the kernel's {@code CoherentAllocation<T>}.
 *
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=dma-array}
 *
 * <p>Invariants: element {@code i} occupies {@code [i * stride, i * stride + layout.byteSize())} of the buffer,
 * where {@code stride} is the layout's size rounded up to its alignment; every index is checked against
 * {@code length}.
 */
public final class DmaArray implements AutoCloseable {
    private final DmaBuffer buffer;
    private final MemoryLayout element;
    private final long stride;
    private final long length;

    private DmaArray(DmaBuffer buffer, MemoryLayout element, long length) {
        this.buffer = buffer;
        this.element = element;
        this.stride = (element.byteSize() + element.byteAlignment() - 1) & -element.byteAlignment();
        this.length = length;
    }

    /**
     * Allocates an array of {@code length} elements from {@code pool}.
     *
     * @throws IllegalArgumentException if {@code length} is not positive or the element layout is empty
     */
    public static DmaArray allocate(DmaPool pool, MemoryLayout element, long length) {
        Objects.requireNonNull(element, "element");
        if (length <= 0 || element.byteSize() == 0) {
            throw new IllegalArgumentException("DMA array of " + length + " elements of " + element.byteSize()
                    + " bytes");
        }
        long stride = (element.byteSize() + element.byteAlignment() - 1) & -element.byteAlignment();
        return new DmaArray(pool.allocate(Math.multiplyExact(stride, length)), element, length);
    }

    /** {@return the number of elements} */
    public long length() {
        return length;
    }

    /** {@return the distance in bytes between elements} */
    public long stride() {
        return stride;
    }

    /** {@return the byte offset of element {@code index} in the buffer} */
    public long offsetOf(long index) {
        return Objects.checkIndex(index, length) * stride;
    }

    /** {@return element {@code index}, as a slice of the buffer's CPU view} Allocates the slice. */
    public MemorySegment element(long index) {
        return buffer.segment().asSlice(offsetOf(index), element);
    }

    /** {@return the device address of element {@code index}} */
    public long deviceAddressOf(long index) {
        return buffer.deviceAddress() + offsetOf(index);
    }

    /** {@return the underlying buffer} */
    public DmaBuffer buffer() {
        return buffer;
    }

    /** Closes the underlying buffer; see {@link DmaBuffer#close()}. */
    @Override
    public void close() {
        buffer.close();
    }
}
