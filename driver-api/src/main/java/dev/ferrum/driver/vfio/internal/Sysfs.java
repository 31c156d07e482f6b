package dev.ferrum.driver.vfio.internal;

import dev.ferrum.driver.pci.PciAddress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

/**
 * Read-only queries of the PCI part of sysfs, below an injectable root ({@code /sys} on a real system, a fake
 * tree in tests): where a function is, which driver it is bound to, its IOMMU group and the group's members.
 *
 * <p>Invariants: never writes; a missing file or link is reported as absent, not as an error; the root is fixed.
 */
public final class Sysfs {
    /** The name of the VFIO PCI driver in sysfs. */
    public static final String VFIO_PCI = "vfio-pci";

    private final Path root;

    /** @param root the sysfs mount point, normally {@code /sys} */
    public Sysfs(Path root) {
        this.root = root;
    }

    /** {@return the sysfs root} */
    public Path root() {
        return root;
    }

    /** {@return {@code <root>/bus/pci/devices/<bdf>}} */
    public Path deviceDir(PciAddress address) {
        return root.resolve("bus/pci/devices").resolve(address.toString());
    }

    /** {@return {@code <root>/bus/pci/drivers_probe}} */
    public Path driversProbe() {
        return root.resolve("bus/pci/drivers_probe");
    }

    /** {@return whether the function exists} */
    public boolean exists(PciAddress address) {
        return Files.isDirectory(deviceDir(address));
    }

    /** {@return the name of the driver the function is bound to, if any} */
    public Optional<String> driver(PciAddress address) {
        return linkName(deviceDir(address).resolve("driver"));
    }

    /** {@return the function's IOMMU group number, if it has a group} */
    public OptionalInt iommuGroup(PciAddress address) {
        Optional<String> name = linkName(deviceDir(address).resolve("iommu_group"));
        if (name.isEmpty()) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(Integer.parseInt(name.get()));
        } catch (NumberFormatException e) {
            throw new IllegalStateException(deviceDir(address).resolve("iommu_group") + " points to '" + name.get()
                    + "', not to a numbered IOMMU group");
        }
    }

    /** {@return the functions of IOMMU group {@code group}, in address order} */
    public List<PciAddress> groupMembers(int group) {
        Path dir = root.resolve("kernel/iommu_groups").resolve(Integer.toString(group)).resolve("devices");
        List<PciAddress> members = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                try {
                    members.add(PciAddress.parse(p.getFileName().toString()));
                } catch (IllegalArgumentException notPci) {
                    // Groups may hold non-PCI devices (platform devices); they are not ours to bind.
                }
            }
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        members.sort(null);
        return members;
    }

    /** {@return a hexadecimal attribute such as {@code vendor} or {@code class}, or -1 if it cannot be read} */
    public int readHex(PciAddress address, String attribute) {
        Optional<String> text = read(deviceDir(address).resolve(attribute));
        if (text.isEmpty()) {
            return -1;
        }
        String s = text.get();
        try {
            return Integer.parseUnsignedInt(s.startsWith("0x") ? s.substring(2) : s, 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** {@return the function's {@code driver_override}, empty if none (the kernel shows {@code (null)})} */
    public String driverOverride(PciAddress address) {
        String s = read(deviceDir(address).resolve("driver_override")).orElse("");
        return s.equals("(null)") ? "" : s;
    }

    /** {@return whether the vfio-pci driver is registered (its module is loaded)} */
    public boolean vfioPciLoaded() {
        return Files.isDirectory(root.resolve("bus/pci/drivers").resolve(VFIO_PCI));
    }

    /** {@return whether the vfio module allows no-IOMMU mode ({@code enable_unsafe_noiommu_mode} is Y)} */
    public boolean noIommuModeEnabled() {
        return read(root.resolve("module/vfio/parameters/enable_unsafe_noiommu_mode"))
                .map(s -> s.equals("Y") || s.equals("1")).orElse(false);
    }

    /** {@return the stripped contents of a small file, or empty if it does not exist or cannot be read} */
    public static Optional<String> read(Path file) {
        try {
            return Optional.of(Files.readString(file).strip());
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> linkName(Path link) {
        try {
            Path target = Files.readSymbolicLink(link);
            Path name = target.getFileName();
            return name == null ? Optional.empty() : Optional.of(name.toString());
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
    }
}
