package dev.ferrum.example.checksum;

import dev.ferrum.memory.Field;
import dev.ferrum.memory.Register32;
import dev.ferrum.memory.Register64;

/**
 * The CSUM-1 registers in BAR0, as typed definitions: the driver's copy of the datasheet
 * ({@code docs/writing-a-driver.md}, "The device"). Every access through them is bounds-checked against the BAR
 * and fails cleanly once the BAR is revoked.
 */
final class ChecksumRegisters {
    private ChecksumRegisters() {}

    // @start region="registers"
    static final int VENDOR_ID = 0x1de5;
    static final int DEVICE_ID = 0xc5c1;

    /** Identification: {@code MAGIC} is 0x4353 ("CS"), {@code VERSION} the interface version. */
    static final Register32 ID = Register32.at(0x00, "ID");
    static final Field ID_MAGIC = ID.field("MAGIC", 16, 16);
    static final Field ID_VERSION = ID.field("VERSION", 0, 16);
    static final int MAGIC = 0x4353;

    /** Limits: the largest ring is 2^RING_LOG2 descriptors, the largest job 2^LENGTH_LOG2 bytes. */
    static final Register32 CAPS = Register32.at(0x04, "CAPS");
    static final Field CAPS_RING_LOG2 = CAPS.field("RING_LOG2", 0, 4);
    static final Field CAPS_LENGTH_LOG2 = CAPS.field("LENGTH_LOG2", 8, 5);

    /** Control: {@code EN} runs the device, {@code IRQ_EN} makes it raise MSI-X vector 0 after completions. */
    static final Register32 CTRL = Register32.at(0x08, "CTRL");
    static final Field CTRL_EN = CTRL.field("EN", 0, 1);
    static final Field CTRL_IRQ_EN = CTRL.field("IRQ_EN", 1, 1);

    /** Status: running, halted (and why), and whether the IOMMU blocked one of its data reads. */
    static final Register32 STATUS = Register32.at(0x0c, "STATUS");
    static final Field STATUS_RDY = STATUS.field("RDY", 0, 1);
    static final Field STATUS_HALTED = STATUS.field("HALTED", 1, 1);
    static final Field STATUS_FAULT = STATUS.field("FAULT", 2, 1);
    static final Field STATUS_ERROR = STATUS.field("ERROR", 8, 8);

    /** The descriptor ring: its device address (32-byte aligned) and its size (a power of two). */
    static final Register64 RING_BASE = Register64.at(0x10, "RING_BASE");
    static final Register32 RING_SIZE = Register32.at(0x18, "RING_SIZE");

    /** Written by the driver: descriptors submitted so far. Read: descriptors completed so far. */
    static final Register32 DOORBELL = Register32.at(0x1c, "DOORBELL");
    static final Register32 HEAD = Register32.at(0x20, "HEAD");
    // @end

    /** {@return the name of a {@code STATUS.ERROR} code} */
    static String errorName(long code) {
        return switch ((int) code) {
            case 1 -> "BAD_RING (ring base or size invalid)";
            case 2 -> "RING_FAULT (the IOMMU blocked the device's access to the ring)";
            case 3 -> "BAD_DOORBELL (the doorbell claimed more descriptors than the ring holds)";
            default -> "unknown error " + code;
        };
    }
}
