package dev.ferrum.driver.pci;

/**
 * Offsets and bits of PCI configuration space (PCI Local Bus 3.0, PCI Express Base), and capability IDs.
 */
public final class PciConfig {
    private PciConfig() {}

    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    /** Class code: programming interface at 0x09, subclass at 0x0a, base class at 0x0b. */
    public static final int CLASS_PROG_IF = 0x09;
    public static final int HEADER_TYPE = 0x0e;
    public static final int BAR0 = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int SUBSYSTEM_ID = 0x2e;
    public static final int CAPABILITIES_POINTER = 0x34;
    public static final int INTERRUPT_PIN = 0x3d;
    /** First extended capability (PCI Express). */
    public static final int EXTENDED_CAPABILITIES = 0x100;

    public static final int COMMAND_IO = 1 << 0;
    public static final int COMMAND_MEMORY = 1 << 1;
    public static final int COMMAND_BUS_MASTER = 1 << 2;
    public static final int COMMAND_INTX_DISABLE = 1 << 10;
    public static final int STATUS_CAPABILITIES_LIST = 1 << 4;

    /** Capability IDs. */
    public static final int CAP_PM = 0x01;
    public static final int CAP_MSI = 0x05;
    public static final int CAP_VENDOR = 0x09;
    public static final int CAP_PCIE = 0x10;
    public static final int CAP_MSIX = 0x11;

    /** MSI-X capability: message control (16 bit) at +2; table at +4; PBA at +8. */
    public static final int MSIX_MESSAGE_CONTROL = 2;
    public static final int MSIX_TABLE = 4;
    public static final int MSIX_PBA = 8;
    public static final int MSIX_CONTROL_TABLE_SIZE_MASK = 0x7ff;
    public static final int MSIX_CONTROL_FUNCTION_MASK = 1 << 14;
    public static final int MSIX_CONTROL_ENABLE = 1 << 15;

    /** PCI Express capability: device capabilities at +4, device control at +8. */
    public static final int PCIE_DEVCAP = 4;
    public static final int PCIE_DEVCTL = 8;
    public static final int PCIE_DEVCAP_FLR = 1 << 28;
    public static final int PCIE_DEVCTL_BCR_FLR = 1 << 15;

    /** Class code of an NVM Express controller (mass storage / non-volatile memory / NVMe). */
    public static final int CLASS_NVME = 0x010802;
}
