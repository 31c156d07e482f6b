package dev.ferrum.driver.pci;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PCI function's address, {@code domain:bus:device.function}, written {@code 0000:01:00.0} (the form
 * {@code lspci -D} and sysfs use).
 *
 * <p>Invariants: domain in {@code [0, 0xffff]}, bus in {@code [0, 0xff]}, device in {@code [0, 0x1f]}, function in
 * {@code [0, 7]}.
 */
public record PciAddress(int domain, int bus, int device, int function) implements Comparable<PciAddress> {
    private static final Pattern BDF = Pattern.compile(
            "(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\\.([0-7])");

    public PciAddress {
        if (domain < 0 || domain > 0xffff || bus < 0 || bus > 0xff || device < 0 || device > 0x1f
                || function < 0 || function > 7) {
            throw new IllegalArgumentException("invalid PCI address " + domain + ":" + bus + ":" + device + "."
                    + function);
        }
    }

    /**
     * Parses {@code [domain:]bus:device.function}, hexadecimal; the domain defaults to 0.
     *
     * @throws IllegalArgumentException naming the text and the expected form
     */
    public static PciAddress parse(String text) {
        Matcher m = BDF.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a PCI address: expected DDDD:BB:DD.F, e.g. "
                    + "0000:01:00.0 (see lspci -D)");
        }
        int domain = m.group(1) == null ? 0 : Integer.parseInt(m.group(1), 16);
        return new PciAddress(domain, Integer.parseInt(m.group(2), 16), Integer.parseInt(m.group(3), 16),
                Integer.parseInt(m.group(4), 16));
    }

    @Override
    public int compareTo(PciAddress o) {
        return Long.compare(packed(), o.packed());
    }

    private long packed() {
        return ((long) domain << 16) | (bus << 8) | (device << 3) | function;
    }

    @Override
    public String toString() {
        return String.format("%04x:%02x:%02x.%x", domain, bus, device, function);
    }
}
