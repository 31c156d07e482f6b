package dev.ferrum.driver.vfio.internal;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.VfioException;
import dev.ferrum.driver.vfio.VfioSetup.GroupMember;
import dev.ferrum.driver.vfio.VfioException.Reason;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The actionable messages of the VFIO backend and of {@link dev.ferrum.driver.vfio.VfioSetup}: each says what is
 * wrong, naming the device, file or limit, and how to fix it with exact commands. Kept in one place so the wording
 * is consistent and each message can be unit-tested without hardware.
 *
 * <p>Invariants: stateless (static methods only, nothing cached); each method that builds an exception returns a
 * new {@link VfioException} carrying the {@link dev.ferrum.driver.vfio.VfioException.Reason} that classifies it,
 * with a message naming the device, file or limit concerned.
 */
public final class VfioErrors {
    private VfioErrors() {}

    /** The function does not exist. */
    public static VfioException deviceNotFound(Sysfs sysfs, PciAddress a) {
        return new VfioException(Reason.DEVICE_NOT_FOUND, "PCI function " + a + " does not exist ("
                + sysfs.deviceDir(a) + " is missing). List the functions with `lspci -D` (NVMe controllers: "
                + "`lspci -D -d ::0108`) and pass the address of one of them, in the form 0000:01:00.0.");
    }

    /** The function has no IOMMU group: the IOMMU is off or absent. */
    public static VfioException noIommuGroup(Sysfs sysfs, PciAddress a) {
        return new VfioException(Reason.NO_IOMMU_GROUP, a + " has no IOMMU group (" + sysfs.deviceDir(a)
                + "/iommu_group is missing): the IOMMU is off or absent, and VFIO needs it to confine the device's "
                + "DMA to memory mapped for it. Enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup and "
                + "add `intel_iommu=on iommu=pt` (Intel) or `amd_iommu=on iommu=pt` (AMD) to the kernel command "
                + "line (e.g. GRUB_CMDLINE_LINUX in /etc/default/grub, then `update-grub` and reboot). Check with "
                + "`dmesg | grep -i -e DMAR -e IOMMU` and `ls /sys/kernel/iommu_groups`. Without an IOMMU only the "
                + "unsafe no-IOMMU mode is possible (VfioBackend.builder().unsafeNoIommu(true); see the "
                + "dev.ferrum.driver.vfio package documentation). Step by step: Ferrum's docs/vfio-box.md, "
                + "\"The IOMMU\".");
    }

    /** The function is bound to another driver, or to none. */
    public static VfioException notBoundToVfio(Sysfs sysfs, PciAddress a, Optional<String> driver) {
        String now = driver.map(d -> "is bound to the '" + d + "' driver").orElse("is not bound to any driver");
        return new VfioException(Reason.NOT_BOUND_TO_VFIO_PCI, a + " " + now + ", not to vfio-pci. Bind it to "
                + "vfio-pci as root" + driver.map(d -> " (this takes it away from '" + d + "': unmount its file "
                + "systems first)").orElse("") + ": `./ferrum nvme setup --pci " + a + "`, or by hand:\n"
                + bindCommands(sysfs, a, driver.isPresent()));
    }

    /** The shell commands that bind {@code a} to vfio-pci. */
    public static String bindCommands(Sysfs sysfs, PciAddress a, boolean bound) {
        Path dev = sysfs.deviceDir(a);
        StringBuilder s = new StringBuilder();
        if (!sysfs.vfioPciLoaded()) {
            s.append("  modprobe vfio-pci\n");
        }
        if (bound) {
            s.append("  echo ").append(a).append(" > ").append(dev.resolve("driver/unbind")).append('\n');
        }
        s.append("  echo vfio-pci > ").append(dev.resolve("driver_override")).append('\n');
        s.append("  echo ").append(a).append(" > ").append(sysfs.driversProbe());
        return s.toString();
    }

    /**
     * Translates a failed {@code open} of a VFIO node ({@code /dev/vfio/vfio} or a group) into what to do.
     *
     * @param what e.g. {@code "the VFIO group of 0000:01:00.0"}
     */
    public static VfioException openFailed(Path node, String what, SyscallException e) {
        int errno = e.errno();
        if (errno == Errno.EACCES || errno == Errno.EPERM) {
            String user = System.getProperty("user.name", "youruser");
            return new VfioException(Reason.PERMISSION_DENIED, "no permission to open " + node + " (" + what + ", "
                    + e.errnoName() + "). VFIO nodes belong to root by default. Run as root, or give your user the "
                    + "node: `sudo chown " + user + " " + node + "` (until the next reboot or rebind), or "
                    + "permanently with a udev rule such as /etc/udev/rules.d/99-vfio.rules containing "
                    + "`SUBSYSTEM==\"vfio\", OWNER=\"" + user + "\", MODE=\"0600\"`, then `udevadm control --reload "
                    + "&& udevadm trigger`. A non-root user also needs RLIMIT_MEMLOCK large enough for its DMA memory "
                    + "(`ulimit -l`). Step by step: Ferrum's docs/vfio-box.md, \"Permissions\".", e);
        }
        if (errno == Errno.EBUSY) {
            return new VfioException(Reason.GROUP_BUSY, node + " (" + what + ") is already open: a VFIO group can "
                    + "be opened by one user at a time. Another process holds it (QEMU, SPDK, another Ferrum program: "
                    + "`fuser -v " + node + "` shows which), or another VfioBackend of this JVM; open all devices of "
                    + "a group through one VfioBackend.", e);
        }
        if (errno == Errno.ENOENT || errno == Errno.ENODEV || errno == Errno.ENXIO) {
            return new VfioException(Reason.VFIO_UNAVAILABLE, node + " (" + what + ") does not exist (" + e.errnoName()
                    + "): the VFIO modules are not loaded or the device is not bound to vfio-pci. Run `modprobe "
                    + "vfio-pci` and check `ls -l /dev/vfio`.", e);
        }
        return new VfioException(Reason.VFIO_UNAVAILABLE, "cannot open " + node + " (" + what + "): "
                + e.getMessage(), e);
    }

    /** {@return the members of {@code group} with their drivers} */
    public static List<GroupMember> groupMembers(Sysfs sysfs, int group) {
        return sysfs.groupMembers(group).stream().map(m -> new GroupMember(m, sysfs.driver(m))).toList();
    }

    /** {@code VFIO_GROUP_GET_STATUS} says the group is not viable: name the members that make it so. */
    public static VfioException groupNotViable(Sysfs sysfs, int group, PciAddress requested) {
        List<GroupMember> members = groupMembers(sysfs, group);
        StringBuilder s = new StringBuilder("IOMMU group " + group + " (of " + requested + ") is not viable: VFIO "
                + "can use a group only when every device in it is bound to vfio-pci (or pci-stub, pcieport, or no "
                + "driver), because devices of one group can reach each other's DMA. The group holds:");
        for (GroupMember m : members) {
            s.append("\n  ").append(m.address()).append(": ")
                    .append(m.driver().map(d -> "bound to " + d).orElse("no driver"));
            if (!m.keepsGroupViable()) {
                s.append("  <- bind it to vfio-pci (`./ferrum nvme setup --pci ").append(m.address())
                        .append("`) or unbind it: echo ").append(m.address()).append(" > ")
                        .append(sysfs.deviceDir(m.address()).resolve("driver/unbind"));
            }
        }
        if (members.isEmpty()) {
            s.append(" (").append(sysfs.root().resolve("kernel/iommu_groups/" + group + "/devices"))
                    .append(" lists no PCI functions)");
        }
        s.append("\nIf the group holds more functions than expected, the platform does not isolate them (no ACS): "
                + "another slot may give the device a group of its own.");
        return new VfioException(Reason.GROUP_NOT_VIABLE, s.toString());
    }

    /**
     * {@code VFIO_IOMMU_MAP_DMA} failed: explain the limit or permission behind it.
     *
     * @param size bytes of the mapping
     */
    public static RuntimeException mapDmaFailed(long size, long iova, SyscallException e) {
        int errno = e.errno();
        String what = "VFIO_IOMMU_MAP_DMA of " + (size >> 10) + " KiB at IOVA 0x" + Long.toHexString(iova);
        if (errno == Errno.ENOMEM || errno == Errno.EAGAIN) {
            long[] rl = Syscalls.getrlimit(Syscalls.RLIMIT_MEMLOCK);
            return memlock(what, size, rl[0], e);
        }
        if (errno == Errno.EPERM || errno == Errno.EACCES) {
            return new VfioException(Reason.PERMISSION_DENIED, what + " was refused (" + e.errnoName() + "): the "
                    + "kernel would not pin the memory for the device. Run as root or with CAP_IPC_LOCK "
                    + "(`setcap cap_ipc_lock+ep` on the java binary), or raise RLIMIT_MEMLOCK (`ulimit -l`); the "
                    + "memory must be ordinary anonymous memory of the process that opened the container.", e);
        }
        if (errno == Errno.ENOSPC) {
            return new IllegalStateException(what + " failed: too many DMA mappings in this container (ENOSPC): "
                    + "vfio_iommu_type1 allows dma_entry_limit (default 65535) per container. Use fewer, larger "
                    + "buffers, or raise it: `modprobe vfio_iommu_type1 dma_entry_limit=N`.", e);
        }
        return new IllegalStateException(what + " failed: " + e.getMessage(), e);
    }

    /** Pinning failed against RLIMIT_MEMLOCK (whose soft limit is {@code softLimit}, -1 for unlimited). */
    /**
     * A DMA pool's {@code mlock} of {@code size} bytes failed: for the memory limit (ENOMEM, EPERM, EAGAIN) the
     * same {@link #memlock} exception as a {@code VFIO_IOMMU_MAP_DMA} that hits it; otherwise the pool's own
     * {@code failure}.
     */
    public static RuntimeException mlockFailed(long size, SyscallException e, RuntimeException failure) {
        int errno = e.errno();
        if (errno != Errno.ENOMEM && errno != Errno.EPERM && errno != Errno.EAGAIN) {
            return failure;
        }
        return memlock("locking " + (size >> 10) + " KiB of DMA memory in RAM (mlock)", size,
                Syscalls.getrlimit(Syscalls.RLIMIT_MEMLOCK)[0], e);
    }

    public static VfioException memlock(String what, long size, long softLimit, SyscallException e) {
        String limit = softLimit == Syscalls.RLIM_INFINITY ? "unlimited" : (softLimit >> 10) + " KiB";
        return new VfioException(Reason.MEMLOCK_LIMIT, what + " failed (" + e.errnoName() + "): VFIO pins DMA "
                + "memory and counts it against RLIMIT_MEMLOCK, which is " + limit + ". Ferrum's DMA pools also lock "
                + "the same memory with mlock, which counts as well: allow about twice the DMA memory in use. Raise "
                + "it: `ulimit -l unlimited` in the shell that starts the JVM, or a `memlock` line in "
                + "/etc/security/limits.conf (e.g. `youruser - memlock unlimited`), or LimitMEMLOCK= for a systemd "
                + "service; root (CAP_IPC_LOCK) is not limited. If the limit is already unlimited, the system is out "
                + "of memory to pin " + (size >> 10) + " KiB. Step by step: Ferrum's docs/vfio-box.md, \"Locked "
                + "memory\".", e);
    }

    /** {@code VFIO_SET_IOMMU} failed. */
    public static VfioException setIommuFailed(String type, SyscallException e) {
        if (e.errno() == Errno.EPERM) {
            return new VfioException(Reason.UNSUPPORTED, "VFIO_SET_IOMMU(" + type + ") was refused (EPERM): the "
                    + "IOMMU has no interrupt remapping, so a device could forge interrupts. Enable interrupt "
                    + "remapping (x2APIC / \"Interrupt Remapping\" in the firmware setup, no `intremap=off` on the "
                    + "kernel command line), or, only if you trust the device, load vfio_iommu_type1 with "
                    + "`allow_unsafe_interrupts=1`. See Ferrum's docs/vfio-box.md, \"The IOMMU\".", e);
        }
        return new VfioException(Reason.UNSUPPORTED, "VFIO_SET_IOMMU(" + type + ") failed: " + e.getMessage(), e);
    }
}
