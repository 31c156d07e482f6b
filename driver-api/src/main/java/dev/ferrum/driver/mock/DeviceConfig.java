package dev.ferrum.driver.mock;

import dev.ferrum.driver.pci.PciConfig;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The PCI identity and layout of a mock device: IDs, class code, BARs, and the capabilities its config space
 * advertises (PCI Express with function-level reset, MSI-X). The mock bus renders from it the config space a
 * driver reads, built as real hardware lays it out: the standard header, a capability list at 0x40, and extended
 * capabilities at 0x100.
 *
 * <p>Invariants: BAR sizes are powers of two of at least 4 KiB; a 64-bit BAR occupies two BAR registers; the MSI-X
 * table and PBA lie inside their BAR.
 */
public final class DeviceConfig {
    static final int PCIE_CAP_OFFSET = 0x40;
    static final int MSIX_CAP_OFFSET = 0x80;
    static final int PM_CAP_OFFSET = 0x90;

    private final int vendorId;
    private final int deviceId;
    private final int subsystemVendorId;
    private final int subsystemId;
    private final int classCode;
    private final int revision;
    private final long[] barSizes;
    private final boolean[] bar64;
    private final boolean[] prefetchable;
    private final int msixVectors;
    private final int msixBar;
    private final int msixTableOffset;
    private final int msixPbaOffset;
    private final boolean flr;
    private final int configSize;
    private final List<Integer> extendedCapabilities;
    private final List<int[]> patches;

    private DeviceConfig(Builder b) {
        this.vendorId = b.vendorId;
        this.deviceId = b.deviceId;
        this.subsystemVendorId = b.subsystemVendorId;
        this.subsystemId = b.subsystemId;
        this.classCode = b.classCode;
        this.revision = b.revision;
        this.barSizes = b.barSizes.clone();
        this.bar64 = b.bar64.clone();
        this.prefetchable = b.prefetchable.clone();
        this.msixVectors = b.msixVectors;
        this.msixBar = b.msixBar;
        this.msixTableOffset = b.msixTableOffset;
        this.msixPbaOffset = b.msixPbaOffset;
        this.flr = b.flr;
        this.configSize = b.configSize;
        this.extendedCapabilities = List.copyOf(b.extendedCapabilities);
        this.patches = List.copyOf(b.patches);
    }

    /** {@return a builder for a function with these IDs and 24-bit class code} */
    public static Builder builder(int vendorId, int deviceId, int classCode) {
        return new Builder(vendorId, deviceId, classCode);
    }

    public int vendorId() {
        return vendorId;
    }

    public int deviceId() {
        return deviceId;
    }

    public int classCode() {
        return classCode;
    }

    /** {@return the size of BAR {@code index}, 0 if absent (or the upper half of a 64-bit BAR)} */
    public long barSize(int index) {
        return barSizes[index];
    }

    public boolean is64Bit(int index) {
        return bar64[index];
    }

    public boolean isPrefetchable(int index) {
        return prefetchable[index];
    }

    /** {@return the number of MSI-X vectors, 0 if none} */
    public int msixVectors() {
        return msixVectors;
    }

    /** {@return whether the function advertises function-level reset} */
    public boolean hasFlr() {
        return flr;
    }

    /** {@return the config space size, 256 or 4096} */
    public int configSize() {
        return configSize;
    }

    /** Renders the initial config space and the mask of writable bits into the given segments. */
    void render(MemorySegment config, MemorySegment writable) {
        config.fill((byte) 0);
        writable.fill((byte) 0);
        put(config, PciConfig.VENDOR_ID, 2, vendorId);
        put(config, PciConfig.DEVICE_ID, 2, deviceId);
        put(config, PciConfig.REVISION_ID, 1, revision);
        put(config, PciConfig.CLASS_PROG_IF, 1, classCode & 0xff);
        put(config, PciConfig.CLASS_PROG_IF + 1, 2, classCode >>> 8);
        put(config, PciConfig.SUBSYSTEM_VENDOR_ID, 2, subsystemVendorId);
        put(config, PciConfig.SUBSYSTEM_ID, 2, subsystemId);
        put(config, PciConfig.INTERRUPT_PIN, 1, 1);
        // Command: I/O, memory, bus master, parity, SERR, INTx disable are writable.
        put(writable, PciConfig.COMMAND, 2, 0x0547);
        put(writable, 0x3c, 1, 0xff); // interrupt line
        long address = 0xfe000000L;
        for (int i = 0; i < 6; i++) {
            if (barSizes[i] == 0) {
                continue;
            }
            int type = (bar64[i] ? 0x4 : 0) | (prefetchable[i] ? 0x8 : 0);
            address -= barSizes[i];
            address &= -barSizes[i];
            put(config, PciConfig.BAR0 + 4 * i, 4, (int) address | type);
            put(writable, PciConfig.BAR0 + 4 * i, 4, (int) -barSizes[i] & ~0xf);
            if (bar64[i]) {
                put(writable, PciConfig.BAR0 + 4 * i + 4, 4, (int) ((-barSizes[i]) >>> 32));
            }
        }
        int next = 0;
        // Capabilities are listed in reverse so that the list reads PCIe, MSI-X, PM.
        put(config, PM_CAP_OFFSET, 1, PciConfig.CAP_PM);
        put(config, PM_CAP_OFFSET + 2, 2, 0x0003); // PM version 3
        put(config, PM_CAP_OFFSET + 1, 1, next);
        next = PM_CAP_OFFSET;
        if (msixVectors > 0) {
            put(config, MSIX_CAP_OFFSET, 1, PciConfig.CAP_MSIX);
            put(config, MSIX_CAP_OFFSET + 1, 1, next);
            put(config, MSIX_CAP_OFFSET + PciConfig.MSIX_MESSAGE_CONTROL, 2, msixVectors - 1);
            put(writable, MSIX_CAP_OFFSET + PciConfig.MSIX_MESSAGE_CONTROL, 2,
                    PciConfig.MSIX_CONTROL_ENABLE | PciConfig.MSIX_CONTROL_FUNCTION_MASK);
            put(config, MSIX_CAP_OFFSET + PciConfig.MSIX_TABLE, 4, msixTableOffset | msixBar);
            put(config, MSIX_CAP_OFFSET + PciConfig.MSIX_PBA, 4, msixPbaOffset | msixBar);
            next = MSIX_CAP_OFFSET;
        }
        put(config, PCIE_CAP_OFFSET, 1, PciConfig.CAP_PCIE);
        put(config, PCIE_CAP_OFFSET + 1, 1, next);
        put(config, PCIE_CAP_OFFSET + 2, 2, 0x0002); // version 2, endpoint
        put(config, PCIE_CAP_OFFSET + PciConfig.PCIE_DEVCAP, 4, flr ? PciConfig.PCIE_DEVCAP_FLR : 0);
        put(writable, PCIE_CAP_OFFSET + PciConfig.PCIE_DEVCTL, 2, 0xffff);
        put(config, PciConfig.CAPABILITIES_POINTER, 1, PCIE_CAP_OFFSET);
        put(config, PciConfig.STATUS, 2, PciConfig.STATUS_CAPABILITIES_LIST | 0x0010);
        if (configSize > 256) {
            int offset = PciConfig.EXTENDED_CAPABILITIES;
            for (int k = 0; k < extendedCapabilities.size(); k++) {
                int nextExt = k + 1 < extendedCapabilities.size() ? offset + 0x10 : 0;
                put(config, offset, 4, extendedCapabilities.get(k) | 1 << 16 | nextExt << 20);
                offset += 0x10;
            }
        }
        for (int[] p : patches) {
            put(config, p[0], p[1], p[2]);
        }
    }

    private static void put(MemorySegment s, int offset, int width, int value) {
        switch (width) {
            case 1 -> s.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
            case 2 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, offset, (short) value);
            case 4 -> s.set(ValueLayout.JAVA_INT_UNALIGNED, offset, value);
            default -> throw new IllegalArgumentException("width " + width);
        }
    }

    /** Builds a {@link DeviceConfig}. */
    public static final class Builder {
        private final int vendorId;
        private final int deviceId;
        private final int classCode;
        private int subsystemVendorId;
        private int subsystemId;
        private int revision;
        private final long[] barSizes = new long[6];
        private final boolean[] bar64 = new boolean[6];
        private final boolean[] prefetchable = new boolean[6];
        private int msixVectors;
        private int msixBar;
        private int msixTableOffset;
        private int msixPbaOffset;
        private boolean flr = true;
        private int configSize = 4096;
        private final List<Integer> extendedCapabilities = new ArrayList<>();
        private final List<int[]> patches = new ArrayList<>();

        private Builder(int vendorId, int deviceId, int classCode) {
            if ((vendorId & ~0xffff) != 0 || vendorId == 0xffff || (deviceId & ~0xffff) != 0
                    || (classCode & ~0xffffff) != 0) {
                throw new IllegalArgumentException("invalid IDs " + Integer.toHexString(vendorId) + ":"
                        + Integer.toHexString(deviceId) + " class " + Integer.toHexString(classCode));
            }
            this.vendorId = vendorId;
            this.deviceId = deviceId;
            this.classCode = classCode;
        }

        /**
         * The subsystem vendor and device IDs (16 bits each).
         *
         * @throws IllegalArgumentException if either does not fit 16 bits
         */
        public Builder subsystem(int vendor, int device) {
            this.subsystemVendorId = fit("subsystem vendor ID", vendor, 0xffff);
            this.subsystemId = fit("subsystem ID", device, 0xffff);
            return this;
        }

        /**
         * The revision ID (8 bits).
         *
         * @throws IllegalArgumentException if it does not fit 8 bits
         */
        public Builder revision(int revision) {
            this.revision = fit("revision ID", revision, 0xff);
            return this;
        }

        private static int fit(String what, int value, int max) {
            if (value < 0 || value > max) {
                throw new IllegalArgumentException(what + " 0x" + Integer.toHexString(value) + " does not fit "
                        + Integer.bitCount(max) + " bits (0..0x" + Integer.toHexString(max) + ")");
            }
            return value;
        }

        /** A 32-bit memory BAR. */
        public Builder bar(int index, long size) {
            return bar(index, size, false, false);
        }

        /** A memory BAR: 64-bit ones take two BAR registers ({@code index} and {@code index + 1}). */
        public Builder bar(int index, long size, boolean is64Bit, boolean isPrefetchable) {
            if (index < 0 || index > (is64Bit ? 4 : 5)) {
                throw new IllegalArgumentException("BAR index " + index);
            }
            if (size < 4096 || Long.bitCount(size) != 1) {
                throw new IllegalArgumentException("BAR size " + size + " is not a power of two >= 4096");
            }
            barSizes[index] = size;
            bar64[index] = is64Bit;
            prefetchable[index] = isPrefetchable;
            return this;
        }

        /**
         * An MSI-X capability with {@code vectors} vectors, table and PBA at the given offsets of BAR {@code bar}.
         * {@link #build()} checks that both fit in that BAR.
         *
         * @throws IllegalArgumentException if vectors is not 1..2048, the BAR index not 0..5, or an offset negative or
         *                                  not 8-byte aligned (the low three bits of the register hold the BAR index)
         */
        public Builder msix(int vectors, int bar, int tableOffset, int pbaOffset) {
            if (vectors < 1 || vectors > 2048) {
                throw new IllegalArgumentException("MSI-X vectors " + vectors + " is not 1..2048");
            }
            if (bar < 0 || bar > 5) {
                throw new IllegalArgumentException("MSI-X BAR index " + bar + " is not 0..5");
            }
            if (tableOffset < 0 || (tableOffset & 7) != 0 || pbaOffset < 0 || (pbaOffset & 7) != 0) {
                throw new IllegalArgumentException("MSI-X table offset 0x" + Integer.toHexString(tableOffset)
                        + " or PBA offset 0x" + Integer.toHexString(pbaOffset) + " is negative or not 8-byte aligned");
            }
            this.msixVectors = vectors;
            this.msixBar = bar;
            this.msixTableOffset = tableOffset;
            this.msixPbaOffset = pbaOffset;
            return this;
        }

        /** Whether the PCIe capability advertises function-level reset (default true). */
        public Builder flr(boolean supported) {
            this.flr = supported;
            return this;
        }

        /** Conventional (256) or extended (4096, default) config space. */
        public Builder configSize(int size) {
            if (size != 256 && size != 4096) {
                throw new IllegalArgumentException("config space size " + size + " is not 256 or 4096");
            }
            this.configSize = size;
            return this;
        }

        /**
         * Adds an extended capability header with this 16-bit ID (listed in the order added; rendered only in a
         * 4096-byte config space).
         *
         * @throws IllegalArgumentException if the ID does not fit 16 bits, or 240 capabilities are already listed
         *                                  (0x10 bytes each, they fill the extended config space)
         */
        public Builder extendedCapability(int id) {
            fit("extended capability ID", id, 0xffff);
            if (extendedCapabilities.size() == (4096 - PciConfig.EXTENDED_CAPABILITIES) / 0x10) {
                throw new IllegalArgumentException("no room for another extended capability: "
                        + extendedCapabilities.size() + " already fill the extended config space");
            }
            extendedCapabilities.add(id);
            return this;
        }

        /**
         * Overwrites config bytes after rendering: for tests of drivers against malformed devices.
         *
         * @throws IllegalArgumentException if the width is not 1, 2 or 4, or the bytes are not inside a 4096-byte
         *                                  config space
         */
        public Builder patchConfig(int offset, int width, int value) {
            if (width != 1 && width != 2 && width != 4) {
                throw new IllegalArgumentException("config patch width " + width + " is not 1, 2 or 4");
            }
            if (offset < 0 || offset > 4096 - width) {
                throw new IllegalArgumentException("config patch of " + width + " bytes at 0x"
                        + Integer.toHexString(offset) + " is outside config space (0..0xfff)");
            }
            patches.add(new int[] {offset, width, value});
            return this;
        }

        public DeviceConfig build() {
            if (msixVectors > 0) {
                long size = barSizes[msixBar];
                if (size == 0 || msixTableOffset + 16L * msixVectors > size
                        || msixPbaOffset + 8L * ((msixVectors + 63) / 64) > size) {
                    throw new IllegalArgumentException("MSI-X table or PBA does not fit BAR" + msixBar);
                }
            }
            return new DeviceConfig(this);
        }
    }
}
