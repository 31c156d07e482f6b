package dev.ferrum.driver.pci.internal;

import dev.ferrum.driver.pci.PciAddress;

/**
 * The checks of a slow (unmapped) BAR access, shared by the backends' {@code barRead}/{@code barWrite}, so that
 * both refuse the same accesses with the same messages.
 *
 * <p>Invariants: stateless; every refusal names the BAR, the function and what is wrong.
 */
public final class BarAccess {
    private BarAccess() {}

    /**
     * Checks a {@code width}-byte access at {@code offset} of BAR {@code index} (0..5, checked by the caller),
     * which is {@code size} bytes long (0: not implemented).
     *
     * @throws IllegalArgumentException  if the width is not 1, 2, 4 or 8, the BAR is not implemented, or the offset
     *                                   is not a multiple of the width
     * @throws IndexOutOfBoundsException if the access is not inside the BAR
     */
    public static void check(PciAddress address, int index, long size, long offset, int width) {
        if (width != 1 && width != 2 && width != 4 && width != 8) {
            throw new IllegalArgumentException("BAR access width " + width + " is not 1, 2, 4 or 8");
        }
        if (size == 0) {
            throw new IllegalArgumentException("BAR" + index + " of " + address + " is not implemented");
        }
        if (offset < 0 || offset > size - width) {
            throw new IndexOutOfBoundsException(width * 8 + "-bit access at 0x" + Long.toHexString(offset)
                    + " is outside BAR" + index + " of " + address + " (" + size + " bytes)");
        }
        if ((offset & (width - 1)) != 0) {
            throw new IllegalArgumentException(width * 8 + "-bit access at 0x" + Long.toHexString(offset) + " of BAR"
                    + index + " of " + address + " is not " + width + "-byte aligned");
        }
    }

    /**
     * {@link #check} for a write of {@code value}, which must fit {@code width} bytes.
     *
     * @throws IllegalArgumentException also if {@code value} does not fit
     */
    public static void checkWrite(PciAddress address, int index, long size, long offset, int width, long value) {
        check(address, index, size, offset, width);
        if (width < 8 && (value >>> (width * 8)) != 0) {
            throw new IllegalArgumentException("value 0x" + Long.toHexString(value) + " does not fit a "
                    + (width * 8) + "-bit BAR write");
        }
    }
}
