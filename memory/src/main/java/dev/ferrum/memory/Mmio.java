package dev.ferrum.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A window of device registers (a PCI BAR, or part of one) over a {@link MemorySegment}: checked, typed,
 * little-endian register access with explicit ordering. The counterpart of the kernel's {@code Io<SIZE>}.
 *
 * <p>Every access checks that the offset is inside the window and naturally aligned, and throws
 * {@link IndexOutOfBoundsException} or {@link IllegalArgumentException} naming the window, offset and width
 * otherwise. (The checks are the segment access's own, done once; only a refused access pays for the message.)
 * A window is native memory whose base is 8-byte aligned ({@link #of} and {@link #region} refuse anything else), so
 * the segment's alignment check, which looks at the absolute address, is the same as one relative to the window.
 * When the window's memory is revoked (the device was removed or its driver unbound: the segment's arena was
 * closed) every access throws {@link RevokedException} naming the window. Accesses do not allocate.
 *
 * <p>Ordering, mirroring Linux's MMIO accessors:
 * <ul>
 *   <li>{@code readN} (like {@code readl}) is an <em>acquire</em> read: later memory accesses, such as reading a
 *       DMA buffer the register says is ready, are not reordered before it;</li>
 *   <li>{@code writeN} (like {@code writel}) is a <em>release</em> write: earlier memory writes, such as a
 *       descriptor in a DMA buffer, are visible before the device can see the register write (a doorbell);</li>
 *   <li>{@code readNRelaxed}/{@code writeNRelaxed} (like {@code readl_relaxed}) are <em>opaque</em>: atomic and
 *       coherent for this location, with no ordering against other memory;</li>
 *   <li>{@code readNVolatile}/{@code writeNVolatile} are sequentially consistent (a full fence on x86 stores).</li>
 * </ul>
 * On x86-64 acquire/release/opaque compile to plain moves; the mapping of a real BAR is uncached, so the device
 * sees accesses in program order. For a mock device running on another Java thread these orderings are what
 * makes the model correct.
 *
 * <p>Invariants: the window's size and base never change; the window is native memory with an 8-byte-aligned
 * base; an access touches only {@code [offset, offset+width)} of the window; values are little endian (PCI byte
 * order) whatever the CPU.
 *
 * <p>Performance: the checks are not free. Every access pays the segment access's bounds, alignment and liveness
 * checks: it loads the window's size, base address and arena state and compares them. The JIT folds those checks
 * only for a segment that is a compile-time constant, and a BAR is a per-device object, so they remain even with
 * constant offsets: measured on the bench machine they cost about 0.5 to 0.8 ns per access ({@code read32} 1.24 ns
 * against 0.42 ns for a raw {@code Unsafe} read; see {@code bench/results/REPORT.md}, and
 * {@code bench/ANALYSIS.md} for the breakdown). A ratio of about 3 on ordinary memory; against an uncached read of a
 * real BAR (hundreds of nanoseconds) well under 1%.
 */
public final class Mmio {
    private static final VarHandle H8 = ValueLayout.JAVA_BYTE.varHandle();
    private static final VarHandle H16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle H32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle H64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment window;
    private final long size;
    private final String name;

    private Mmio(MemorySegment window, String name) {
        this.window = window;
        this.size = window.byteSize();
        this.name = name;
    }

    /**
     * {@return a register window over all of {@code window}}
     *
     * @param name names the window in error messages, e.g. {@code "BAR0 of 0000:01:00.0"}
     * @throws IllegalArgumentException if the segment is {@link MemorySegment#NULL} or empty, is not native memory
     *                                  (a heap segment), or its base address is not 8-byte aligned
     */
    public static Mmio of(MemorySegment window, String name) {
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(name, "name");
        if (!window.isNative()) {
            throw new IllegalArgumentException("MMIO window '" + name + "' is a heap segment: a register window must"
                    + " be native memory (a mapped BAR, or off-heap memory standing in for one)");
        }
        if (window.byteSize() == 0) {
            throw new IllegalArgumentException("MMIO window '" + name + "' is empty"
                    + (window.address() == 0 ? " (a NULL segment)" : ""));
        }
        if ((window.address() & (Long.BYTES - 1)) != 0) {
            throw new IllegalArgumentException("MMIO window '" + name + "' starts at 0x"
                    + Long.toHexString(window.address()) + ", which is not 8-byte aligned: register alignment is"
                    + " checked against the absolute address, so the window's base must be aligned");
        }
        return new Mmio(window, name);
    }

    /**
     * {@return the sub-window {@code [offset, offset + length)}, e.g. an NVMe doorbell array}
     *
     * @throws IndexOutOfBoundsException if the range is not inside this window
     * @throws IllegalArgumentException  if {@code offset} is not a multiple of 8 (the sub-window's base must be
     *                                   8-byte aligned, as for {@link #of}) or {@code length} is 0
     */
    public Mmio region(long offset, long length, String regionName) {
        Objects.requireNonNull(regionName, "regionName");
        Objects.checkFromIndexSize(offset, length, size);
        if ((offset & (Long.BYTES - 1)) != 0) {
            throw new IllegalArgumentException("MMIO region '" + regionName + "' at offset 0x"
                    + Long.toHexString(offset) + " of '" + name + "' is not 8-byte aligned");
        }
        return of(window.asSlice(offset, length), regionName);
    }

    /** {@return the size of the window in bytes} */
    public long size() {
        return size;
    }

    /** {@return the window's name} */
    public String name() {
        return name;
    }

    /** {@return whether accesses still reach the device (the window has not been revoked)} */
    public boolean isAccessible() {
        return window.scope().isAlive();
    }

    /**
     * The slow path of a refused access: the segment access itself checked bounds and alignment (so the common path
     * pays for those checks once); this turns its exception into one that names the window, offset and width.
     */
    private RuntimeException misuse(long offset, int width, RuntimeException cause) {
        if (offset < 0 || offset > size - width) {
            return new IndexOutOfBoundsException("MMIO " + (width * 8) + "-bit access at offset 0x"
                    + Long.toHexString(offset) + " is outside '" + name + "' (" + size + " bytes)");
        }
        if ((offset & (width - 1)) != 0) {
            return new IllegalArgumentException("MMIO " + (width * 8) + "-bit access at offset 0x"
                    + Long.toHexString(offset) + " of '" + name + "' is not " + width + "-byte aligned");
        }
        return cause;
    }

    private RevokedException revoked(IllegalStateException e) {
        return new RevokedException("MMIO window '" + name + "' was revoked (device removed or driver unbound)", e);
    }

    /** {@return the 8-bit register at {@code offset}}, an acquire read. */
    public byte read8(long offset) {
        try {
            return (byte) H8.getAcquire(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 1, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 8-bit register at {@code offset}: a release write. */
    public void write8(long offset, byte value) {
        try {
            H8.setRelease(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 1, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 8-bit register at {@code offset}}, a relaxed (opaque) read. */
    public byte read8Relaxed(long offset) {
        try {
            return (byte) H8.getOpaque(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 1, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 8-bit register at {@code offset}: a relaxed (opaque) write. */
    public void write8Relaxed(long offset, byte value) {
        try {
            H8.setOpaque(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 1, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 8-bit register at {@code offset}}, a volatile read. */
    public byte read8Volatile(long offset) {
        try {
            return (byte) H8.getVolatile(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 1, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 8-bit register at {@code offset}: a volatile write. */
    public void write8Volatile(long offset, byte value) {
        try {
            H8.setVolatile(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 1, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 16-bit register at {@code offset}}, an acquire read. */
    public short read16(long offset) {
        try {
            return (short) H16.getAcquire(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 2, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 16-bit register at {@code offset}: a release write. */
    public void write16(long offset, short value) {
        try {
            H16.setRelease(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 2, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 16-bit register at {@code offset}}, a relaxed (opaque) read. */
    public short read16Relaxed(long offset) {
        try {
            return (short) H16.getOpaque(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 2, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 16-bit register at {@code offset}: a relaxed (opaque) write. */
    public void write16Relaxed(long offset, short value) {
        try {
            H16.setOpaque(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 2, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 16-bit register at {@code offset}}, a volatile read. */
    public short read16Volatile(long offset) {
        try {
            return (short) H16.getVolatile(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 2, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 16-bit register at {@code offset}: a volatile write. */
    public void write16Volatile(long offset, short value) {
        try {
            H16.setVolatile(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 2, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 32-bit register at {@code offset}}, an acquire read. */
    public int read32(long offset) {
        try {
            return (int) H32.getAcquire(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 4, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 32-bit register at {@code offset}: a release write. */
    public void write32(long offset, int value) {
        try {
            H32.setRelease(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 4, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 32-bit register at {@code offset}}, a relaxed (opaque) read. */
    public int read32Relaxed(long offset) {
        try {
            return (int) H32.getOpaque(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 4, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 32-bit register at {@code offset}: a relaxed (opaque) write. */
    public void write32Relaxed(long offset, int value) {
        try {
            H32.setOpaque(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 4, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 32-bit register at {@code offset}}, a volatile read. */
    public int read32Volatile(long offset) {
        try {
            return (int) H32.getVolatile(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 4, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 32-bit register at {@code offset}: a volatile write. */
    public void write32Volatile(long offset, int value) {
        try {
            H32.setVolatile(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 4, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 64-bit register at {@code offset}}, an acquire read. */
    public long read64(long offset) {
        try {
            return (long) H64.getAcquire(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 8, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 64-bit register at {@code offset}: a release write. */
    public void write64(long offset, long value) {
        try {
            H64.setRelease(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 8, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 64-bit register at {@code offset}}, a relaxed (opaque) read. */
    public long read64Relaxed(long offset) {
        try {
            return (long) H64.getOpaque(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 8, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 64-bit register at {@code offset}: a relaxed (opaque) write. */
    public void write64Relaxed(long offset, long value) {
        try {
            H64.setOpaque(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 8, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** {@return the 64-bit register at {@code offset}}, a volatile read. */
    public long read64Volatile(long offset) {
        try {
            return (long) H64.getVolatile(window, offset);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 8, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    /** Writes the 64-bit register at {@code offset}: a volatile write. */
    public void write64Volatile(long offset, long value) {
        try {
            H64.setVolatile(window, offset, value);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw misuse(offset, 8, e);
        } catch (IllegalStateException e) {
            throw revoked(e);
        }
    }

    @Override
    public String toString() {
        return "Mmio['" + name + "', " + size + " bytes]";
    }
}
