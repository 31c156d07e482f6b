package dev.ferrum.memory;

import java.util.Objects;

/**
 * A named 32-bit register at a fixed offset of an {@link Mmio} window, with named {@link Field}s: the
 * counterpart of one register of the kernel's {@code register!} macro. Declare registers as {@code static final}
 * constants; an access is the window's checked access at a constant offset.
 *
 * <p>Invariants: the offset is non-negative and 32-bit aligned (checked at construction; the window's size is
 * checked at each access); fields never overlap the register's bounds.
 */
public final class Register32 {
    private final String name;
    private final long offset;

    private Register32(long offset, String name) {
        if (offset < 0 || (offset & (32 / 8 - 1)) != 0) {
            throw new IllegalArgumentException("register " + name + " offset 0x" + Long.toHexString(offset)
                    + " is negative or not " + (32 / 8) + "-byte aligned");
        }
        this.name = Objects.requireNonNull(name, "name");
        this.offset = offset;
    }

    /** {@return the register {@code name} at byte {@code offset} of a window} */
    public static Register32 at(long offset, String name) {
        return new Register32(offset, name);
    }

    /** {@return a field of this register, bits {@code [lsb, lsb + width)}} */
    public Field field(String fieldName, int lsb, int width) {
        return new Field(name, 32, fieldName, lsb, width, this, null);
    }

    /** {@return the register's value: an ordered (acquire) read} */
    public int read(Mmio io) {
        return io.read32(offset);
    }

    /** {@return the register's value: a relaxed read} */
    public int readRelaxed(Mmio io) {
        return io.read32Relaxed(offset);
    }

    /** Writes the register: an ordered (release) write. */
    public void write(Mmio io, int value) {
        io.write32(offset, value);
    }

    /** Writes the register: a relaxed write. */
    public void writeRelaxed(Mmio io, int value) {
        io.write32Relaxed(offset, value);
    }

    /**
     * Read-modify-write of one field: reads the register, replaces {@code field} with {@code value}, writes it back.
     * Not atomic against the device or other threads; serialize register updates in the driver.
     *
     * @return the value written
     * @throws IllegalArgumentException if the field is not one of this register's, or the value does not fit
     */
    public int update(Mmio io, Field field, long value) {
        if (!field.belongsTo(this)) {
            throw new IllegalArgumentException("field " + field.name() + " is not a field of register " + name);
        }
        int v = (int) field.with(read(io) & 0xffffffffL, value);
        write(io, v);
        return v;
    }

    /** {@return the byte offset in the window} */
    public long offset() {
        return offset;
    }

    /** {@return the register's name} */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name + "@0x" + Long.toHexString(offset);
    }
}
