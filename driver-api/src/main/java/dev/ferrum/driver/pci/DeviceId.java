package dev.ferrum.driver.pci;

/**
 * One entry of a driver's ID table: which PCI functions the driver handles, as the kernel's
 * {@code struct pci_device_id}. A field equal to {@link #ANY} matches any value; the class code matches under
 * {@code classMask}.
 *
 * {@snippet class=dev.ferrum.example.javadoc.PciExamplesTest region=device-id}
 *
 * <p>Invariants: IDs are 16-bit values or {@link #ANY}; class code and mask are 24-bit.
 */
public record DeviceId(int vendor, int device, int subVendor, int subDevice, int classCode, int classMask) {
    /** Matches any value ({@code PCI_ANY_ID}). */
    public static final int ANY = -1;

    public DeviceId {
        check("vendor", vendor);
        check("device", device);
        check("subVendor", subVendor);
        check("subDevice", subDevice);
        if ((classCode & ~0xffffff) != 0 || (classMask & ~0xffffff) != 0) {
            throw new IllegalArgumentException("class code and mask are 24-bit: 0x" + Integer.toHexString(classCode)
                    + "/0x" + Integer.toHexString(classMask));
        }
    }

    private static void check(String what, int id) {
        if (id != ANY && (id & ~0xffff) != 0) {
            throw new IllegalArgumentException(what + " ID 0x" + Integer.toHexString(id) + " is not 16-bit");
        }
    }

    /** {@return an entry matching vendor and device ID} */
    public static DeviceId of(int vendor, int device) {
        return new DeviceId(vendor, device, ANY, ANY, 0, 0);
    }

    /** {@return an entry matching any function whose class code equals {@code classCode} under {@code mask}} */
    public static DeviceId ofClass(int classCode, int mask) {
        return new DeviceId(ANY, ANY, ANY, ANY, classCode, mask);
    }

    /** {@return this entry narrowed to a subsystem vendor and ID} */
    public DeviceId withSubsystem(int subVendor, int subDevice) {
        return new DeviceId(vendor, device, subVendor, subDevice, classCode, classMask);
    }

    /** {@return whether a function with these identifiers matches this entry} */
    public boolean matches(int vendorId, int deviceId, int subVendorId, int subDeviceId, int functionClass) {
        return (vendor == ANY || vendor == vendorId)
                && (device == ANY || device == deviceId)
                && (subVendor == ANY || subVendor == subVendorId)
                && (subDevice == ANY || subDevice == subDeviceId)
                && ((classCode ^ functionClass) & classMask) == 0;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("DeviceId[");
        s.append(vendor == ANY ? "*" : String.format("%04x", vendor)).append(':')
                .append(device == ANY ? "*" : String.format("%04x", device));
        if (subVendor != ANY || subDevice != ANY) {
            s.append(" sub ").append(subVendor == ANY ? "*" : String.format("%04x", subVendor)).append(':')
                    .append(subDevice == ANY ? "*" : String.format("%04x", subDevice));
        }
        if (classMask != 0) {
            s.append(String.format(" class %06x/%06x", classCode, classMask));
        }
        return s.append(']').toString();
    }
}
