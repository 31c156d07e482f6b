package dev.ferrum.driver.pci;

/**
 * A capability found in config space.
 *
 * @param id       the capability ID ({@link PciConfig#CAP_MSIX}, ...; for extended capabilities the 16-bit
 *                 extended ID)
 * @param offset   its offset in config space
 * @param extended whether it is a PCI Express extended capability (at or above 0x100)
 *
 * <p>Invariants: a plain value; the record checks nothing itself. Those {@link PciDevice#capabilities()} returns
 * have a dword-aligned offset inside config space (0x40..0xfc for conventional ones, 0x100 and above for
 * extended ones) and an ID of 8 (conventional) or 16 (extended) bits, whatever the device claims.
 */
public record Capability(int id, int offset, boolean extended) {
    @Override
    public String toString() {
        return String.format("%s0x%02x@0x%03x", extended ? "ext " : "", id, offset);
    }
}
