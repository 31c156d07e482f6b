package dev.ferrum.agx.internal;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;

import java.lang.foreign.MemorySegment;

/**
 * The two DMA buffers of a ring shared with the firmware: a small control block (pointers, descriptor) and the
 * ring of entries. Both are zeroed at allocation.
 *
 * <p>Invariants: both buffers are allocated together or not at all, and freed together by {@link #close()}.
 */
public final class RingMemory implements AutoCloseable {
    private final DmaBuffer control;
    private final DmaBuffer entries;

    public RingMemory(DmaPool pool, long controlBytes, long entryBytes) {
        this.control = pool.allocate(controlBytes);
        try {
            this.entries = pool.allocate(entryBytes);
        } catch (RuntimeException e) {
            control.close();
            throw e;
        }
        control.segment().fill((byte) 0);
        entries.segment().fill((byte) 0);
    }

    /** {@return the control block's buffer} */
    public DmaBuffer control() {
        return control;
    }

    /** {@return the entries' buffer} */
    public DmaBuffer entries() {
        return entries;
    }

    /** Frees both buffers. Whoever else reads them (the firmware) must be done. */
    @Override
    public void close() {
        entries.close();
        control.close();
    }
}
