package dev.ferrum.memory;

import java.util.Objects;

/**
 * A named 64-bit register at a fixed offset of an {@link Mmio} window, with named {@link Field}s: the
 * counterpart of one register of the kernel's {@code register!} macro. Declare registers as {@code static final}
 * constants; an access is the window's checked access at a constant offset.
 *
 * <p>Invariants: the offset is non-negative and 64-bit aligned (checked at construction; the window's size is
 * checked at each access); fields never overlap the register's bounds.
 */
public final class Register64 {
    private final String name;
    private final long offset;

    private Register64(long offset, String name) {
        if (offset < 0 || (offset & (64 / 8 - 1)) != 0) {
            throw new IllegalArgumentException("register " + name + " offset 0x" + Long.toHexString(offset)
                    + " is negative or not " + (64 / 8) + "-byte aligned");
        }
        this.name = Objects.requireNonNull(name, "name");
        this.offset = offset;
    }

    /** {@return the register {@code name} at byte {@code offset} of a window} */
    public static Register64 at(long offset, String name) {
        return new Register64(offset, name);
    }

    /** {@return a field of this register, bits {@code [lsb, lsb + width)}} */
    public Field field(String fieldName, int lsb, int width) {
        return new Field(name, 64, fieldName, lsb, width, null, this);
    }

    /** {@return the register's value: an ordered (acquire) read} */
    public long read(Mmio io) {
        return io.read64(offset);
    }

    /** {@return the register's value: a relaxed read} */
    public long readRelaxed(Mmio io) {
        return io.read64Relaxed(offset);
    }

    /** Writes the register: an ordered (release) write. */
    public void write(Mmio io, long value) {
        io.write64(offset, value);
    }

    /** Writes the register: a relaxed write. */
    public void writeRelaxed(Mmio io, long value) {
        io.write64Relaxed(offset, value);
    }

    /**
     * Read-modify-write of one field: reads the register, replaces {@code field} with {@code value}, writes it back.
     * Not atomic against the device or other threads; serialize register updates in the driver.
     *
     * @return the value written
     * @throws IllegalArgumentException if the field is not one of this register's, or the value does not fit
     */
    public long update(Mmio io, Field field, long value) {
        if (!field.belongsTo(this)) {
            throw new IllegalArgumentException("field " + field.name() + " is not a field of register " + name);
        }
        long v = field.with(read(io), value);
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
