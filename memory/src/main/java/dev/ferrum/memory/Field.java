package dev.ferrum.memory;

import java.util.Objects;

/**
 * A named bit field of a register: bits {@code [lsb, lsb + width)}, in the spirit of the kernel's
 * {@code register!} macro. Values are unsigned.
 *
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=register-definitions}
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=register-access}
 *
 * <p>Invariants: {@code 0 <= lsb}, {@code 1 <= width}, {@code lsb + width <= } the register's width;
 * {@link #with} never changes bits outside the field and refuses values that do not fit; the {@code int}
 * overloads accept only fields of 32-bit registers (a 64-bit register's value never passes through an {@code int}).
 */
public final class Field {
    private final String name;
    private final int lsb;
    private final int width;
    private final long mask;
    private final int registerBits;
    private final Register32 register32;
    private final Register64 register64;

    Field(String registerName, int registerBits, String name, int lsb, int width,
          Register32 register32, Register64 register64) {
        Objects.requireNonNull(name, "name");
        if (lsb < 0 || width < 1 || lsb + width > registerBits) {
            throw new IllegalArgumentException("field " + registerName + "." + name + " [" + lsb + ", " + (lsb + width)
                    + ") does not fit a " + registerBits + "-bit register");
        }
        this.name = registerName + "." + name;
        this.lsb = lsb;
        this.width = width;
        this.mask = width == 64 ? -1L : ((1L << width) - 1) << lsb;
        this.registerBits = registerBits;
        this.register32 = register32;
        this.register64 = register64;
    }

    /** {@return the field's value in {@code registerValue}} */
    public long get(long registerValue) {
        return (registerValue & mask) >>> lsb;
    }

    /**
     * {@return the field's value in a 32-bit {@code registerValue}}
     *
     * @throws IllegalArgumentException if this is a field of a 64-bit register (a 32-bit value does not hold it:
     *                                  pass the register's {@code long} value)
     */
    public int get(int registerValue) {
        require32Bit("get(int)");
        return (int) get(Integer.toUnsignedLong(registerValue));
    }

    /** {@return whether any bit of the field is set} */
    public boolean isSet(long registerValue) {
        return (registerValue & mask) != 0;
    }

    /**
     * {@return whether any bit of the field is set in a 32-bit value}
     *
     * @throws IllegalArgumentException if this is a field of a 64-bit register
     */
    public boolean isSet(int registerValue) {
        require32Bit("isSet(int)");
        return isSet(Integer.toUnsignedLong(registerValue));
    }

    /**
     * {@return {@code registerValue} with this field set to {@code fieldValue}}
     *
     * @throws IllegalArgumentException if {@code fieldValue} does not fit in the field
     */
    public long with(long registerValue, long fieldValue) {
        if (width < 64 && (fieldValue >>> width) != 0) {
            throw new IllegalArgumentException("value " + fieldValue + " (0x" + Long.toHexString(fieldValue)
                    + ") does not fit in " + name + " (" + width + " bits)");
        }
        return (registerValue & ~mask) | (fieldValue << lsb);
    }

    /**
     * {@return a 32-bit {@code registerValue} with this field set to {@code fieldValue}}
     *
     * @throws IllegalArgumentException if this is a field of a 64-bit register, or {@code fieldValue} does not fit
     */
    public int with(int registerValue, long fieldValue) {
        require32Bit("with(int, long)");
        return (int) with(Integer.toUnsignedLong(registerValue), fieldValue);
    }

    /** The {@code int} overloads would silently truncate a 64-bit register's value (a field above bit 31 reads 0). */
    private void require32Bit(String op) {
        if (registerBits != 32) {
            throw new IllegalArgumentException(name + " belongs to a " + registerBits + "-bit register: " + op
                    + " takes a 32-bit value; use the long overload with the register's 64-bit value");
        }
    }

    /** {@return this field of the register, read from {@code io} (ordered read)} */
    public long read(Mmio io) {
        return register32 != null ? get(register32.read(io)) : get(register64.read(io));
    }

    boolean belongsTo(Object register) {
        return register == register32 || register == register64;
    }

    /** {@return the field's name, {@code REGISTER.FIELD}} */
    public String name() {
        return name;
    }

    /** {@return the least significant bit} */
    public int lsb() {
        return lsb;
    }

    /** {@return the width in bits} */
    public int width() {
        return width;
    }

    /** {@return the largest value the field holds} */
    public long maxValue() {
        return mask >>> lsb;
    }

    @Override
    public String toString() {
        return name + "[" + (lsb + width - 1) + ":" + lsb + "]";
    }
}
