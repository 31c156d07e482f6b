package dev.ferrum.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * Memory that both the CPU and a device can reach: a CPU view ({@link #segment()}) and the device address of its
 * first byte ({@link #deviceAddress()}), allocated by a {@link DmaPool}. The counterpart of the kernel's
 * {@code CoherentAllocation}.
 *
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=dma-buffer}
 *
 * <p>Life cycle. A buffer is alive from allocation until {@link #close()}. Closing unmaps it from the device's
 * address space first, then frees the memory; every later CPU access throws {@link IllegalStateException} (the
 * segment's arena is closed), so does asking for its {@link #deviceAddress() device address} (the IOVA range may
 * already belong to another buffer), and the device can no longer reach it. While the device may still read or write the
 * buffer, whoever handed it to the device holds a {@link #pin() pin}; {@code close()} refuses to free a pinned
 * buffer. Closing twice is reported as a double free.
 *
 * <p>Slices ({@link #slice}) view part of a buffer with the matching device address; they share the parent's
 * lifetime and pins and cannot be closed themselves.
 *
 * <p>Invariants:
 * <ul>
 *   <li>{@code deviceAddress() + k} is the device address of {@code segment()} byte {@code k}, for every
 *       {@code 0 <= k < byteSize()} (the mapping is contiguous in device address space);</li>
 *   <li>a root buffer's memory is mapped for the device exactly while it is alive, and is page aligned and a whole
 *       number of pages long;</li>
 *   <li>the memory is not freed while the pin count is positive;</li>
 *   <li>a confined buffer ({@link DmaPool#allocateConfined}) is CPU-accessible from its owner thread only; other
 *       threads get {@link WrongThreadException} (the device is not a thread and is not restricted).</li>
 * </ul>
 *
 * <p>Memory ordering: the CPU view is ordinary memory. Publishing data to a device is the job of the doorbell or
 * register write that follows (use the release-ordered {@link Mmio} writes); reading what a device wrote must
 * follow an acquire read of the flag the device set (e.g. an NVMe completion's phase bit).
 */
public final class DmaBuffer implements AutoCloseable {
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(DmaBuffer.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@link #state} value of a closed buffer; non-negative values count pins. */
    private static final int CLOSED = -1;

    private final DmaBuffer root;
    private final MemorySegment segment;
    private final long deviceAddress;
    // Root only:
    private final DmaPool pool;
    private final Arena arena;
    private final long pageSize;
    private volatile int state;
    /** Root only: who holds the registration pin, or null. */
    private volatile Object registeredTo;

    /** A root buffer. */
    DmaBuffer(DmaPool pool, Arena arena, MemorySegment segment, long deviceAddress, long pageSize) {
        this.root = this;
        this.pool = pool;
        this.arena = arena;
        this.segment = segment;
        this.deviceAddress = deviceAddress;
        this.pageSize = pageSize;
    }

    private DmaBuffer(DmaBuffer root, MemorySegment segment, long deviceAddress) {
        this.root = root;
        this.pool = root.pool;
        this.arena = null;
        this.segment = segment;
        this.deviceAddress = deviceAddress;
        this.pageSize = root.pageSize;
    }

    /**
     * {@return the CPU view of this buffer}
     *
     * @throws IllegalStateException if the buffer is closed
     */
    public MemorySegment segment() {
        if (root.state == CLOSED) {
            throw closed("segment()");
        }
        return segment;
    }

    /**
     * {@return the device address (IOVA) of the first byte}
     *
     * <p>Only a live buffer has one: once the buffer is closed its IOVA range goes back to the allocator, which hands
     * it to the next buffer mapped, so a stale address would aim the device at someone else's memory.
     *
     * @throws IllegalStateException if the buffer is closed
     */
    public long deviceAddress() {
        if (root.state == CLOSED) {
            throw closed("deviceAddress()");
        }
        return deviceAddress;
    }

    /**
     * {@return the device address of byte {@code offset}}
     *
     * @throws IndexOutOfBoundsException if {@code offset} is outside {@code [0, byteSize())}
     * @throws IllegalStateException     if the buffer is closed (see {@link #deviceAddress()})
     */
    public long deviceAddress(long offset) {
        if (root.state == CLOSED) {
            throw closed("deviceAddress(" + offset + ")");
        }
        Objects.checkIndex(offset, segment.byteSize());
        return deviceAddress + offset;
    }

    /** For {@link DmaPool#release}: the IOVA to unmap, read after the buffer moved to the closed state. */
    long mappedDeviceAddress() {
        return deviceAddress;
    }

    /** {@return the size in bytes} */
    public long byteSize() {
        return segment.byteSize();
    }

    /** {@return the page size of the memory backing this buffer: 4 KiB, or 2 MiB for huge pages} */
    public long pageSize() {
        return pageSize;
    }

    /** {@return the pool that allocated this buffer} */
    public DmaPool pool() {
        return pool;
    }

    /** {@return whether this is a slice of another buffer} */
    public boolean isSlice() {
        return root != this;
    }

    /** {@return whether the buffer (or, for a slice, its parent) has not been closed} */
    public boolean isAlive() {
        return root.state != CLOSED;
    }

    /**
     * {@return a view of {@code [offset, offset + length)} of this buffer with its device address}
     *
     * @throws IndexOutOfBoundsException if the range is not inside this buffer
     * @throws IllegalStateException     if the buffer is closed
     */
    public DmaBuffer slice(long offset, long length) {
        Objects.checkFromIndexSize(offset, length, segment.byteSize());
        return new DmaBuffer(root, segment().asSlice(offset, length), deviceAddress + offset);
    }

    /**
     * Records that a device may now access this buffer (an in-flight command refers to it). Until the matching
     * {@link #unpin()}, {@link #close()} refuses to free the memory. Pins nest; slices pin their parent.
     *
     * <p>Lock-free: one compare-and-set; no allocation.
     *
     * @throws IllegalStateException if the buffer is closed, or pinned {@code Integer.MAX_VALUE} times
     */
    public void pin() {
        DmaBuffer r = root;
        while (true) {
            int s = r.state;
            if (s == CLOSED) {
                throw closed("pin()");
            }
            if (s == Integer.MAX_VALUE) {
                throw new IllegalStateException("pin count of " + r + " would overflow");
            }
            if (STATE.compareAndSet(r, s, s + 1)) {
                return;
            }
        }
    }

    /**
     * Releases one {@link #pin()}: the device no longer uses the buffer on that pin's behalf.
     *
     * @throws IllegalStateException if the buffer is not pinned (an unbalanced unpin)
     */
    public void unpin() {
        DmaBuffer r = root;
        while (true) {
            int s = r.state;
            if (s <= 0) {
                throw new IllegalStateException("unpin() of " + r + " without a matching pin()"
                        + (s == CLOSED ? " (the buffer is closed)" : ""));
            }
            if (STATE.compareAndSet(r, s, s - 1)) {
                return;
            }
        }
    }

    /**
     * {@return a pin as a resource, for try-with-resources} Allocates the small {@link Pin} object; hot paths use
     * {@link #pin()}/{@link #unpin()}.
     */
    public Pin pinned() {
        pin();
        return new Pin(this);
    }

    /**
     * Registers this buffer with {@code owner} (e.g. an NVMe queue pair) that will hand it to the device many times:
     * one {@link #pin()} covers all those operations, so they need not pin and unpin each time (io_uring's and SPDK's
     * "registered buffers"). The buffer cannot be closed while registered. Slices share the registration.
     *
     * @throws IllegalStateException if the buffer is closed or already registered
     */
    public void register(Object owner) {
        java.util.Objects.requireNonNull(owner, "owner");
        DmaBuffer r = root;
        synchronized (r) {
            if (r.registeredTo != null) {
                throw new IllegalStateException(r + " is already registered with " + r.registeredTo);
            }
            r.pin();
            r.registeredTo = owner;
        }
    }

    /** {@return whether this buffer (or the buffer it was sliced from) is registered with {@code owner}} */
    public boolean isRegisteredTo(Object owner) {
        return root.registeredTo == owner;
    }

    /**
     * Ends a registration made by {@link #register}: releases its pin. The owner must know the device no longer uses
     * the buffer on its behalf.
     *
     * @throws IllegalStateException if not registered with {@code owner}
     */
    public void unregister(Object owner) {
        DmaBuffer r = root;
        synchronized (r) {
            if (r.registeredTo != owner || owner == null) {
                throw new IllegalStateException(r + " is not registered with " + owner);
            }
            r.registeredTo = null;
            r.unpin();
        }
    }

    /** {@return the number of pins currently held, or -1 if closed} */
    public int pinCount() {
        return root.state;
    }

    /**
     * Unmaps the buffer from the device and frees its memory.
     *
     * @throws IllegalStateException if this is a slice, if the buffer is pinned (a device may still use it: the
     *                               memory is not freed), or if it was already closed (double free)
     * @throws WrongThreadException  if the buffer is confined to another thread
     */
    @Override
    public void close() {
        if (root != this) {
            throw new IllegalStateException("cannot close a slice (" + this + "): close the buffer it was sliced from");
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException(this + " is confined to another thread and can be closed only there");
        }
        while (true) {
            int s = state;
            if (s == CLOSED) {
                throw new IllegalStateException("double free: " + this + " was already closed");
            }
            if (s > 0) {
                throw new IllegalStateException("cannot free " + this + ": pinned by " + s
                        + " in-flight device operation(s); the device may still access it");
            }
            if (STATE.compareAndSet(this, 0, CLOSED)) {
                break;
            }
        }
        pool.release(this, arena);
    }

    /** For {@link DmaPool#close()}: frees a closed buffer whose memory was kept because its unmap failed. */
    void retryRelease() {
        pool.release(this, arena);
    }

    private IllegalStateException closed(String op) {
        return new IllegalStateException(op + " on a closed DMA buffer (use after free): " + this);
    }

    @Override
    public String toString() {
        return (isSlice() ? "DmaBuffer slice[" : "DmaBuffer[") + segment.byteSize() + " bytes @ IOVA 0x"
                + Long.toHexString(deviceAddress) + ", pool '" + pool.name() + "']";
    }

    /** A {@link DmaBuffer#pin()} held as a resource. Invariant: releases exactly one pin, once. */
    public static final class Pin implements AutoCloseable {
        private DmaBuffer buffer;

        private Pin(DmaBuffer buffer) {
            this.buffer = buffer;
        }

        /** Releases the pin. Closing a second time is an error. */
        @Override
        public void close() {
            DmaBuffer b = buffer;
            if (b == null) {
                throw new IllegalStateException("pin already released");
            }
            buffer = null;
            b.unpin();
        }
    }
}
