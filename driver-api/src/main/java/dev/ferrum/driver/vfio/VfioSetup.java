package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.VfioException.Reason;
import dev.ferrum.driver.vfio.internal.DeviceUsage;
import dev.ferrum.driver.vfio.internal.Sysfs;
import dev.ferrum.driver.vfio.internal.VfioContainer;
import dev.ferrum.driver.vfio.internal.VfioErrors;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Hands a named PCI function to vfio-pci and back, through sysfs, like SPDK's {@code setup.sh} but for one
 * explicitly named function at a time:
 *
 * {@snippet class=dev.ferrum.example.javadoc.VfioExamplesTest region=status}
 *
 * <p>{@code ./ferrum nvme setup --pci BDF} (and {@code --reset}, {@code --status}) is this class on the command line.
 *
 * <p>{@link #bind} refuses: anything but one explicitly named function (no "all"); a function that does not exist;
 * one without an IOMMU group (unless the kernel's unsafe no-IOMMU mode is enabled); one whose storage the host uses
 * (a block device below it, such as an NVMe namespace or one of its partitions, mounted, used as swap, or held by
 * LVM/device-mapper or md). Otherwise it unbinds the function from its current driver, writes {@code vfio-pci} to
 * its {@code driver_override}, asks the kernel to probe it ({@code drivers_probe}) and checks that vfio-pci took
 * it. A function already bound to vfio-pci is left alone. {@link #unbind} reverses it: unbind from vfio-pci (refused
 * while a program has the VFIO group open), clear {@code driver_override}, probe, so the kernel driver (e.g.
 * {@code nvme}) binds again.
 *
 * <p>Binding and unbinding need root (they write sysfs). {@link #status} works for anyone.
 *
 * <p>Invariants: only files of the named function and {@code /sys/bus/pci/drivers_probe} are written; nothing is
 * written when a check fails; the sysfs, proc and dev roots are fixed at creation.
 *
 * <p>Thread-safe as far as sysfs is: do not bind and unbind the same function concurrently.
 */
public final class VfioSetup {
    private static final Logger LOG = LoggerFactory.getLogger(VfioSetup.class);
    private static final Set<String> WILDCARDS = Set.of("", "all", "*", "any", "every");
    private static final Duration PROBE_WAIT = Duration.ofSeconds(5);

    /** Writes one value to one sysfs file (a seam for tests, which simulate the kernel). */
    @FunctionalInterface
    interface SysfsWriter {
        void write(Path file, String value) throws IOException;
    }

    private final Sysfs sysfs;
    private final Path proc;
    private final Path dev;
    private final SysfsWriter writer;
    private final long probeWaitNanos;

    /**
     * @param writer    writes sysfs files (tests pass a simulated kernel)
     * @param probeWait how long to wait for the kernel to bind a driver after {@code drivers_probe}
     */
    VfioSetup(Path sysfsRoot, Path procRoot, Path devRoot, SysfsWriter writer, Duration probeWait) {
        this.sysfs = new Sysfs(Objects.requireNonNull(sysfsRoot, "sysfsRoot"));
        this.proc = Objects.requireNonNull(procRoot, "procRoot");
        this.dev = Objects.requireNonNull(devRoot, "devRoot");
        this.writer = Objects.requireNonNull(writer, "writer");
        this.probeWaitNanos = probeWait.toNanos();
    }

    /** {@return the set-up tool for this machine: {@code /sys}, {@code /proc}, {@code /dev}} */
    public static VfioSetup create() {
        return withRoots(Path.of("/sys"), Path.of("/proc"), Path.of("/dev"));
    }

    /** {@return the set-up tool for another root (a container's or a test's copy of sysfs, proc and dev)} */
    public static VfioSetup withRoots(Path sysfsRoot, Path procRoot, Path devRoot) {
        return new VfioSetup(sysfsRoot, procRoot, devRoot, VfioSetup::writeSysfs, PROBE_WAIT);
    }

    private static void writeSysfs(Path file, String value) throws IOException {
        // One write(2) of the whole value, as sysfs attributes expect; no O_CREAT: sysfs files exist or not.
        Files.write(file, value.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
    }

    /** A member of an IOMMU group and the driver it is bound to (empty: none). */
    public record GroupMember(PciAddress address, Optional<String> driver) {
        private static final Set<String> COMPATIBLE = Set.of(Sysfs.VFIO_PCI, "pci-stub", "pcieport");

        /** {@return whether this member lets VFIO use the group: bound to vfio-pci, pci-stub, pcieport or nothing} */
        public boolean keepsGroupViable() {
            return driver.isEmpty() || COMPATIBLE.contains(driver.get());
        }
    }

    /**
     * The state of one function.
     *
     * @param address        the function
     * @param vendorId       vendor ID, -1 if unreadable
     * @param deviceId       device ID, -1 if unreadable
     * @param classCode      24-bit class code, -1 if unreadable
     * @param driver         the bound driver, empty if none
     * @param driverOverride the {@code driver_override}, empty if none
     * @param iommuGroup     the IOMMU group, empty if none (IOMMU off)
     * @param vfioGroupNode  the VFIO group node ({@code /dev/vfio/N}), present when the function is bound to
     *                       vfio-pci and has a group
     * @param group          the members of the IOMMU group (this function included) and their drivers
     * @param blockDevices   the host's block devices below the function (disks, partitions)
     * @param inUse          why the host needs the function (mounts, swap, holders), empty if it does not
     */
    public record Status(PciAddress address, int vendorId, int deviceId, int classCode, Optional<String> driver,
                         String driverOverride, OptionalInt iommuGroup, Optional<Path> vfioGroupNode,
                         List<GroupMember> group, List<String> blockDevices, List<String> inUse) {
        public Status {
            group = List.copyOf(group);
            blockDevices = List.copyOf(blockDevices);
            inUse = List.copyOf(inUse);
        }

        /** {@return whether the function is bound to vfio-pci} */
        public boolean boundToVfio() {
            return driver.filter(Sysfs.VFIO_PCI::equals).isPresent();
        }

        /** {@return whether every member of the IOMMU group lets VFIO use it} */
        public boolean groupViable() {
            return group.stream().allMatch(GroupMember::keepsGroupViable);
        }

        /** {@return a few lines for a person: identity, driver, group, storage use} */
        public String describe() {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%s [%04x:%04x] class %06x", address,
                    vendorId & 0xffff, deviceId & 0xffff, classCode & 0xffffff));
            s.append("\n  driver: ").append(driver.orElse("none"));
            if (!driverOverride.isEmpty()) {
                s.append(" (driver_override: ").append(driverOverride).append(')');
            }
            if (iommuGroup.isPresent()) {
                s.append("\n  IOMMU group ").append(iommuGroup.getAsInt());
                vfioGroupNode.ifPresent(n -> s.append(": ").append(n));
                for (GroupMember m : group) {
                    if (!m.address().equals(address)) {
                        s.append("\n    also in the group: ").append(m.address()).append(" (")
                                .append(m.driver().orElse("no driver")).append(')')
                                .append(m.keepsGroupViable() ? "" : "  <- must be bound to vfio-pci or unbound");
                    }
                }
            } else {
                s.append("\n  no IOMMU group (IOMMU off)");
            }
            s.append("\n  block devices: ").append(blockDevices.isEmpty() ? "none" : String.join(", ", blockDevices));
            for (String u : inUse) {
                s.append("\n  in use: ").append(u);
            }
            return s.toString();
        }
    }

    /**
     * {@return the state of {@code address}}
     *
     * @throws VfioException ({@link Reason#DEVICE_NOT_FOUND}) if the function does not exist
     */
    public Status status(PciAddress address) {
        Objects.requireNonNull(address, "address");
        if (!sysfs.exists(address)) {
            throw VfioErrors.deviceNotFound(sysfs, address);
        }
        Optional<String> driver = sysfs.driver(address);
        OptionalInt group = sysfs.iommuGroup(address);
        List<DeviceUsage.BlockDevice> blocks = DeviceUsage.blockDevices(sysfs, address);
        Optional<Path> node = Optional.empty();
        if (group.isPresent() && driver.filter(Sysfs.VFIO_PCI::equals).isPresent()) {
            Path plain = VfioContainer.groupNode(dev, group.getAsInt(), false);
            Path noIommu = VfioContainer.groupNode(dev, group.getAsInt(), true);
            node = Optional.of(!Files.exists(plain) && Files.exists(noIommu) ? noIommu : plain);
        }
        return new Status(address, sysfs.readHex(address, "vendor"), sysfs.readHex(address, "device"),
                sysfs.readHex(address, "class"), driver, sysfs.driverOverride(address), group, node,
                group.isPresent() ? VfioErrors.groupMembers(sysfs, group.getAsInt()) : List.of(),
                blocks.stream().map(DeviceUsage.BlockDevice::name).toList(),
                DeviceUsage.uses(sysfs, proc, blocks));
    }

    /**
     * {@link #status(PciAddress)} of a parsed address; wildcards are refused as for {@link #bind(String)}.
     *
     * @throws VfioException ({@link Reason#NOT_EXPLICITLY_NAMED}) for a wildcard or something that is not an address
     */
    public Status status(String bdf) {
        return status(named(bdf));
    }

    /**
     * Parses {@code bdf} and {@linkplain #bind(PciAddress) binds} it. Refuses wildcards such as {@code "all"}:
     * functions are bound one explicitly named address at a time.
     *
     * @throws VfioException ({@link Reason#NOT_EXPLICITLY_NAMED}) for a wildcard or something that is not an address
     */
    public Status bind(String bdf) {
        return bind(named(bdf));
    }

    /** {@link #unbind(PciAddress)} of a parsed address; wildcards are refused as for {@link #bind(String)}. */
    public Status unbind(String bdf) {
        return unbind(named(bdf));
    }

    private static PciAddress named(String bdf) {
        String t = bdf == null ? "" : bdf.strip();
        if (WILDCARDS.contains(t.toLowerCase(Locale.ROOT))) {
            throw new VfioException(Reason.NOT_EXPLICITLY_NAMED, "'" + t + "' does not name one PCI function: Ferrum "
                    + "binds only functions named explicitly by address (e.g. 0000:01:00.0; see `lspci -D`), never "
                    + "all devices, so that no disk the system needs is taken by accident");
        }
        try {
            return PciAddress.parse(t);
        } catch (IllegalArgumentException e) {
            throw new VfioException(Reason.NOT_EXPLICITLY_NAMED, e.getMessage(), e);
        }
    }

    /**
     * Binds {@code address} to vfio-pci (see the class documentation for the checks). A function already bound to
     * vfio-pci is left as it is.
     *
     * @return the state afterwards, with the IOMMU group and its {@code /dev/vfio} node
     * @throws VfioException naming the problem: {@link Reason#DEVICE_NOT_FOUND}, {@link Reason#NO_IOMMU_GROUP},
     *                       {@link Reason#DEVICE_IN_USE}, {@link Reason#VFIO_UNAVAILABLE} (vfio-pci not loaded),
     *                       {@link Reason#PERMISSION_DENIED} (not root), {@link Reason#SETUP_FAILED} (the kernel did
     *                       not bind it)
     */
    public Status bind(PciAddress address) {
        Status before = status(address);
        if (before.boundToVfio()) {
            LOG.info("{} is already bound to vfio-pci", address);
            return before;
        }
        if (before.iommuGroup().isEmpty() && !sysfs.noIommuModeEnabled()) {
            throw VfioErrors.noIommuGroup(sysfs, address);
        }
        if (!before.inUse().isEmpty()) {
            throw new VfioException(Reason.DEVICE_IN_USE, "refusing to take " + address + " from the '"
                    + before.driver().orElse("?") + "' driver: the host uses it:\n  " + String.join("\n  ",
                    before.inUse()) + "\nRelease these first; Ferrum never takes storage that is in use.");
        }
        if (!sysfs.vfioPciLoaded()) {
            throw new VfioException(Reason.VFIO_UNAVAILABLE, "the vfio-pci driver is not loaded ("
                    + sysfs.root().resolve("bus/pci/drivers/vfio-pci") + " is missing): run `modprobe vfio-pci` "
                    + "as root, then retry");
        }
        Path dir = sysfs.deviceDir(address);
        if (before.driver().isPresent()) {
            write(dir.resolve("driver/unbind"), address.toString(), address);
        }
        write(dir.resolve("driver_override"), Sysfs.VFIO_PCI, address);
        write(sysfs.driversProbe(), address.toString(), address);
        Status after = awaitDriver(address, true);
        if (!after.boundToVfio()) {
            throw new VfioException(Reason.SETUP_FAILED, "vfio-pci did not take " + address + " after the probe "
                    + "(driver now: " + after.driver().orElse("none") + "); the kernel log says why: `dmesg | tail`");
        }
        LOG.info("{} bound to vfio-pci (was: {}); IOMMU group {}", address, before.driver().orElse("no driver"),
                after.iommuGroup().isPresent() ? after.iommuGroup().getAsInt() : "none");
        if (!after.groupViable()) {
            LOG.warn("IOMMU group of {} is not viable yet: {}", address, after.describe());
        }
        return after;
    }

    /**
     * Gives {@code address} back to the kernel: unbinds it from vfio-pci, clears {@code driver_override} and
     * probes, so that its kernel driver binds again (if that driver is loaded). A function not bound to vfio-pci is
     * left bound as it is (only a stale {@code vfio-pci} override is cleared).
     *
     * @return the state afterwards
     * @throws VfioException {@link Reason#GROUP_BUSY} if a program has the VFIO group open (unbinding would block
     *                       until it lets go), {@link Reason#PERMISSION_DENIED}, {@link Reason#DEVICE_NOT_FOUND}
     */
    public Status unbind(PciAddress address) {
        Status before = status(address);
        Path dir = sysfs.deviceDir(address);
        if (!before.boundToVfio()) {
            if (before.driverOverride().equals(Sysfs.VFIO_PCI)) {
                write(dir.resolve("driver_override"), "\n", address);
            }
            return status(address);
        }
        before.vfioGroupNode().ifPresent(node -> requireGroupUnused(node, address));
        write(dir.resolve("driver/unbind"), address.toString(), address);
        write(dir.resolve("driver_override"), "\n", address);
        write(sysfs.driversProbe(), address.toString(), address);
        Status after = awaitDriver(address, false);
        LOG.info("{} released from vfio-pci; driver now: {}", address, after.driver().orElse("none"));
        return after;
    }

    /** The kernel blocks an unbind from vfio-pci until the user closes the device: refuse instead of hanging. */
    private static void requireGroupUnused(Path node, PciAddress address) {
        int fd;
        try {
            fd = Syscalls.open(node.toString(), Syscalls.O_RDWR | Syscalls.O_CLOEXEC);
        } catch (SyscallException e) {
            if (e.errno() == Errno.EBUSY) {
                throw new VfioException(Reason.GROUP_BUSY, "refusing to unbind " + address + ": its VFIO group "
                        + node + " is open (a program is using the device; `fuser -v " + node + "` shows which). "
                        + "Stop it first; the kernel would wait for it forever.", e);
            }
            return; // cannot tell (e.g. no permission): the sysfs write will report what is wrong
        }
        Syscalls.close(fd);
    }

    private Status awaitDriver(PciAddress address, boolean wantVfio) {
        long deadline = System.nanoTime() + probeWaitNanos;
        while (true) {
            Status s = status(address);
            if (s.boundToVfio() == wantVfio || System.nanoTime() - deadline > 0) {
                return s;
            }
            try {
                Thread.sleep(20); // the kernel binds during the drivers_probe write; this only covers async probes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return s;
            }
        }
    }

    private void write(Path file, String value, PciAddress address) {
        try {
            writer.write(file, value);
        } catch (AccessDeniedException e) {
            throw new VfioException(Reason.PERMISSION_DENIED, "no permission to write " + file + " (binding "
                    + address + "): run as root", e);
        } catch (IOException | UncheckedIOException e) {
            throw new VfioException(Reason.SETUP_FAILED, "writing '" + value.strip() + "' to " + file + " failed ("
                    + e.getMessage() + ") while changing the driver of " + address + "; see `dmesg | tail`", e);
        }
    }
}
