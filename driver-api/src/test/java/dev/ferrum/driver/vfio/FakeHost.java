package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A fake {@code /sys}, {@code /proc} and {@code /dev} in a temporary directory, laid out as Linux does (device
 * directories under {@code sys/devices}, linked from {@code sys/bus/pci/devices}; {@code driver} and
 * {@code iommu_group} links; NVMe namespaces under {@code nvme/nvmeN/}), plus a simulated kernel for sysfs writes:
 * {@code driver/unbind} drops the binding, {@code drivers_probe} binds the driver named by {@code driver_override}
 * or, without one, the function's kernel driver.
 */
final class FakeHost implements VfioSetup.SysfsWriter {
    final Path sys;
    final Path proc;
    final Path dev;
    /** Every write, as {@code path-relative-to-sys=value}. */
    final List<String> writes = new ArrayList<>();
    /** The driver a function's kernel driver probe would bind (e.g. nvme). */
    private final Map<PciAddress, String> kernelDrivers = new HashMap<>();
    /** Whether drivers_probe works; false simulates a probe that binds nothing. */
    boolean probeBinds = true;

    FakeHost(Path root) {
        sys = root.resolve("sys");
        proc = root.resolve("proc");
        dev = root.resolve("dev");
        mkdirs(sys.resolve("bus/pci/devices"));
        mkdirs(sys.resolve("kernel/iommu_groups"));
        mkdirs(sys.resolve("block"));
        mkdirs(proc);
        mkdirs(dev.resolve("vfio"));
        file(proc.resolve("mounts"), "sysfs /sys sysfs rw,nosuid 0 0\n/dev/sda1 / ext4 rw,relatime 0 0\n");
        file(proc.resolve("swaps"), "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
        file(sys.resolve("bus/pci/drivers_probe"), "");
    }

    static void mkdirs(Path p) {
        try {
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void file(Path p, String text) {
        try {
            mkdirs(p.getParent());
            Files.writeString(p, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void link(Path link, Path target) {
        try {
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, link.getParent().relativize(target));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path deviceDir(PciAddress a) {
        return sys.resolve("devices/pci0000:00").resolve(a.toString());
    }

    /** Adds a function with IDs and class, its {@code driver_override} unset. */
    FakeHost function(String bdf, int vendor, int device, int classCode) {
        PciAddress a = PciAddress.parse(bdf);
        Path d = deviceDir(a);
        file(d.resolve("vendor"), String.format("0x%04x%n", vendor));
        file(d.resolve("device"), String.format("0x%04x%n", device));
        file(d.resolve("class"), String.format("0x%06x%n", classCode));
        file(d.resolve("driver_override"), "(null)\n");
        link(sys.resolve("bus/pci/devices").resolve(a.toString()), d);
        return this;
    }

    /** Adds an NVMe controller (QEMU's IDs). */
    FakeHost nvme(String bdf) {
        return function(bdf, 0x1b36, 0x0010, 0x010802);
    }

    /** Registers driver {@code name} (its sysfs directory with bind/unbind files). */
    FakeHost driver(String name) {
        Path d = sys.resolve("bus/pci/drivers").resolve(name);
        file(d.resolve("bind"), "");
        file(d.resolve("unbind"), "");
        return this;
    }

    /** Binds the function to {@code driver} (registering it); the driver is also its kernel driver unless vfio-pci. */
    FakeHost bind(String bdf, String driver) {
        driver(driver);
        PciAddress a = PciAddress.parse(bdf);
        if (!driver.equals("vfio-pci")) {
            kernelDrivers.put(a, driver);
        }
        link(deviceDir(a).resolve("driver"), sys.resolve("bus/pci/drivers").resolve(driver));
        return this;
    }

    /** Puts the function into IOMMU group {@code group}. */
    FakeHost group(String bdf, int group) {
        PciAddress a = PciAddress.parse(bdf);
        Path g = sys.resolve("kernel/iommu_groups").resolve(Integer.toString(group));
        mkdirs(g.resolve("devices"));
        link(g.resolve("devices").resolve(a.toString()), deviceDir(a));
        link(deviceDir(a).resolve("iommu_group"), g);
        return this;
    }

    /** Adds namespace {@code nvme<ctrl>n<ns>} with partitions 1..{@code partitions} below the controller. */
    FakeHost namespace(String bdf, int ctrl, int ns, int partitions) {
        Path disk = deviceDir(PciAddress.parse(bdf)).resolve("nvme/nvme" + ctrl).resolve("nvme" + ctrl + "n" + ns);
        file(disk.resolve("dev"), "259:0\n");
        mkdirs(disk.resolve("holders"));
        for (int p = 1; p <= partitions; p++) {
            Path part = disk.resolve("nvme" + ctrl + "n" + ns + "p" + p);
            file(part.resolve("partition"), p + "\n");
            mkdirs(part.resolve("holders"));
        }
        link(sys.resolve("block").resolve("nvme" + ctrl + "n" + ns), disk);
        return this;
    }

    /** Native multipath: path device {@code nvme<ctrl>c<ctrl>n<ns>} below the controller, head in /sys/block. */
    FakeHost multipathNamespace(String bdf, int ctrl, int subsystem, int ns) {
        String path = "nvme" + subsystem + "c" + ctrl + "n" + ns;
        mkdirs(deviceDir(PciAddress.parse(bdf)).resolve("nvme/nvme" + ctrl).resolve(path));
        Path head = sys.resolve("devices/virtual/nvme-subsystem/nvme-subsys" + subsystem)
                .resolve("nvme" + subsystem + "n" + ns);
        mkdirs(head.resolve("multipath"));
        link(head.resolve("multipath").resolve(path), deviceDir(PciAddress.parse(bdf)).resolve("nvme/nvme" + ctrl)
                .resolve(path));
        link(sys.resolve("block").resolve("nvme" + subsystem + "n" + ns), head);
        return this;
    }

    FakeHost mounted(String device, String mountPoint, String type) {
        append(proc.resolve("mounts"), device + " " + mountPoint + " " + type + " rw,relatime 0 0\n");
        return this;
    }

    FakeHost swap(String device) {
        append(proc.resolve("swaps"), device + "                               partition\t1048572\t\t0\t\t-2\n");
        return this;
    }

    /** Makes block device {@code holder} (e.g. dm-0) hold {@code blockDevDir} (a disk or partition directory). */
    FakeHost holder(Path blockDevDir, String holder, String dmName) {
        Path h = sys.resolve("devices/virtual/block").resolve(holder);
        if (dmName != null) {
            file(h.resolve("dm/name"), dmName + "\n");
        } else {
            mkdirs(h);
        }
        link(sys.resolve("block").resolve(holder), h);
        link(blockDevDir.resolve("holders").resolve(holder), h);
        return this;
    }

    /** Creates {@code /dev/vfio/<group>} (a plain file here). */
    FakeHost vfioNode(int group) {
        file(dev.resolve("vfio").resolve(Integer.toString(group)), "");
        return this;
    }

    private static void append(Path p, String text) {
        try {
            Files.writeString(p, Files.readString(p) + text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    VfioSetup setup() {
        return new VfioSetup(sys, proc, dev, this, java.time.Duration.ofMillis(50));
    }

    /** The simulated kernel. */
    @Override
    public void write(Path file, String value) throws IOException {
        writes.add(sys.relativize(file) + "=" + value);
        String name = file.getFileName().toString();
        if (name.equals("unbind")) {
            Path driverLink = sys.resolve("bus/pci/devices").resolve(value).resolve("driver");
            if (!Files.isSymbolicLink(driverLink)) {
                throw new IOException("No such device");
            }
            Files.delete(driverLink);
        } else if (name.equals("driver_override")) {
            Files.writeString(file, value.isBlank() ? "(null)\n" : value + "\n");
        } else if (name.equals("drivers_probe")) {
            PciAddress a = PciAddress.parse(value);
            String override = Files.readString(deviceDir(a).resolve("driver_override")).strip();
            String driver = override.equals("(null)") ? kernelDrivers.get(a) : override;
            if (probeBinds && driver != null && Files.isDirectory(sys.resolve("bus/pci/drivers").resolve(driver))) {
                link(deviceDir(a).resolve("driver"), sys.resolve("bus/pci/drivers").resolve(driver));
                if (driver.equals("vfio-pci") && Files.isSymbolicLink(deviceDir(a).resolve("iommu_group"))) {
                    vfioNode(Integer.parseInt(Files.readSymbolicLink(deviceDir(a).resolve("iommu_group"))
                            .getFileName().toString()));
                }
            }
        } else {
            throw new IOException("unexpected sysfs write " + file);
        }
    }
}
