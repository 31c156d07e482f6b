package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.VfioException.Reason;
import dev.ferrum.driver.vfio.internal.Sysfs;
import dev.ferrum.driver.vfio.internal.VfioErrors;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The errors a user meets when opening a device through VFIO, produced on the host against a fake sysfs and /dev
 * ({@link FakeHost}), or, where a real kernel object is needed (a refused open, a non-viable group, the memlock
 * limit), by the message builders the backend uses.
 */
class VfioBackendErrorsTest {
    private static final String BDF = "0000:01:00.0";
    private static final PciAddress A = PciAddress.parse(BDF);

    @TempDir
    Path root;

    private VfioException openFails(FakeHost host, Reason reason) {
        return openFails(host, reason, false);
    }

    private VfioException openFails(FakeHost host, Reason reason, boolean noIommu) {
        VfioException e = assertThrows(VfioException.class, () -> VfioBackend.builder().device(A)
                .unsafeNoIommu(noIommu).sysfsRoot(host.sys).devRoot(host.dev).open());
        assertEquals(reason, e.reason(), e.getMessage());
        return e;
    }

    private static void assertMentions(Exception e, String... texts) {
        for (String t : texts) {
            assertTrue(e.getMessage().contains(t), "message lacks '" + t + "': " + e.getMessage());
        }
    }

    @Test
    void aFunctionThatDoesNotExist() {
        VfioException e = openFails(new FakeHost(root), Reason.DEVICE_NOT_FOUND);
        assertMentions(e, "PCI function 0000:01:00.0 does not exist", "bus/pci/devices/0000:01:00.0 is missing",
                "lspci -D");
    }

    @Test
    void aFunctionWithoutAnIommuGroupNamesTheKernelParameters() {
        // Not bound to vfio-pci either: the missing IOMMU is the root cause and is reported first.
        VfioException e = openFails(new FakeHost(root).nvme(BDF).bind(BDF, "nvme"), Reason.NO_IOMMU_GROUP);
        assertMentions(e, "has no IOMMU group", "iommu_group is missing", "intel_iommu=on iommu=pt",
                "amd_iommu=on iommu=pt", "unsafeNoIommu");
    }

    @Test
    void aFunctionBoundToItsKernelDriverGetsTheExactCommands() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "nvme").group(BDF, 7).driver("vfio-pci");
        VfioException e = openFails(host, Reason.NOT_BOUND_TO_VFIO_PCI);
        Path dev = host.sys.resolve("bus/pci/devices").resolve(BDF);
        assertMentions(e, "is bound to the 'nvme' driver, not to vfio-pci", "./ferrum nvme setup --pci " + BDF,
                "echo " + BDF + " > " + dev.resolve("driver/unbind"),
                "echo vfio-pci > " + dev.resolve("driver_override"),
                "echo " + BDF + " > " + host.sys.resolve("bus/pci/drivers_probe"), "unmount its file systems");
        assertFalse(e.getMessage().contains("modprobe"), "vfio-pci is loaded: " + e.getMessage());
    }

    @Test
    void aDriverlessFunctionWithVfioPciNotLoaded() {
        VfioException e = openFails(new FakeHost(root).nvme(BDF).group(BDF, 7), Reason.NOT_BOUND_TO_VFIO_PCI);
        assertMentions(e, "is not bound to any driver", "modprobe vfio-pci");
        assertFalse(e.getMessage().contains("driver/unbind"), "nothing to unbind: " + e.getMessage());
    }

    @Test
    void inNoIommuModeTheBindingIsCheckedFirst() {
        // Without an IOMMU the group appears only once vfio-pci binds, so the binding is the thing to fix.
        openFails(new FakeHost(root).nvme(BDF).bind(BDF, "nvme"), Reason.NOT_BOUND_TO_VFIO_PCI, true);
    }

    @Test
    void aMissingContainerNodeMeansTheModulesAreNotLoaded() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "vfio-pci").group(BDF, 7).vfioNode(7);
        VfioException e = openFails(host, Reason.VFIO_UNAVAILABLE);
        assertMentions(e, host.dev.resolve("vfio/vfio") + " (the VFIO container) does not exist (ENOENT)",
                "modprobe vfio-pci");
    }

    @Test
    void aContainerNodeThatIsNotVfio() throws Exception {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "vfio-pci").group(BDF, 7).vfioNode(7);
        Files.writeString(host.dev.resolve("vfio/vfio"), "");
        VfioException e = openFails(host, Reason.VFIO_UNAVAILABLE);
        assertMentions(e, "is not a VFIO container node", "VFIO_GET_API_VERSION", "ENOTTY");
        assertInstanceOf(SyscallException.class, e.getCause());
    }

    @Test
    void builderRefusesNoDevicesAndDuplicates() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> VfioBackend.open(List.of()));
        assertTrue(none.getMessage().contains("at least one"), none.getMessage());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> VfioBackend.open(A, A));
        assertTrue(twice.getMessage().contains("0000:01:00.0 is named twice"), twice.getMessage());
    }

    @Test
    void noPermissionOnTheGroupNodeSuggestsChownUdevOrRoot() {
        Path node = Path.of("/dev/vfio/12");
        VfioException e = VfioErrors.openFailed(node, "IOMMU group 12 of " + A,
                new SyscallException("open(/dev/vfio/12)", Errno.EACCES));
        assertEquals(Reason.PERMISSION_DENIED, e.reason());
        assertMentions(e, "no permission to open /dev/vfio/12 (IOMMU group 12 of 0000:01:00.0, EACCES)",
                "Run as root", "chown " + System.getProperty("user.name") + " /dev/vfio/12",
                "SUBSYSTEM==\"vfio\"", "udevadm", "ulimit -l");
        assertEquals(Reason.PERMISSION_DENIED, VfioErrors.openFailed(node, "x",
                new SyscallException("open", Errno.EPERM)).reason());
    }

    @Test
    void aGroupOpenElsewhereIsBusy() {
        VfioException e = VfioErrors.openFailed(Path.of("/dev/vfio/12"), "IOMMU group 12",
                new SyscallException("open(/dev/vfio/12)", Errno.EBUSY));
        assertEquals(Reason.GROUP_BUSY, e.reason());
        assertMentions(e, "already open", "fuser -v /dev/vfio/12", "one VfioBackend");
    }

    @Test
    void aGroupThatIsNotViableListsEachMemberAndWhatToDoAboutIt() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "vfio-pci").group(BDF, 7)
                .function("0000:01:00.1", 0x8086, 0x1234, 0x040300).bind("0000:01:00.1", "snd_hda_intel")
                .group("0000:01:00.1", 7)
                .function("0000:00:01.0", 0x8086, 0x1901, 0x060400).bind("0000:00:01.0", "pcieport")
                .group("0000:00:01.0", 7)
                .function("0000:01:00.2", 0x8086, 0x1235, 0x0c0330).group("0000:01:00.2", 7);
        VfioException e = VfioErrors.groupNotViable(new Sysfs(host.sys), 7, A);
        assertEquals(Reason.GROUP_NOT_VIABLE, e.reason());
        String m = e.getMessage();
        assertMentions(e, "IOMMU group 7 (of 0000:01:00.0) is not viable", "0000:01:00.0: bound to vfio-pci\n",
                "0000:00:01.0: bound to pcieport\n", "0000:01:00.2: no driver\n",
                "0000:01:00.1: bound to snd_hda_intel  <- bind it to vfio-pci (`./ferrum nvme setup --pci "
                        + "0000:01:00.1`) or unbind it: echo 0000:01:00.1 > "
                        + host.sys.resolve("bus/pci/devices/0000:01:00.1/driver/unbind"), "ACS");
        assertEquals(1, m.split("<-", -1).length - 1, "only the blocking member is marked: " + m);
    }

    @Test
    void pinningBeyondRlimitMemlockSaysHowToRaiseIt() {
        VfioException e = VfioErrors.memlock("VFIO_IOMMU_MAP_DMA of 2048 KiB at IOVA 0xff000000", 2L << 20, 64L << 10,
                new SyscallException("ioctl(VFIO_IOMMU_MAP_DMA)", Errno.ENOMEM));
        assertEquals(Reason.MEMLOCK_LIMIT, e.reason());
        assertMentions(e, "VFIO_IOMMU_MAP_DMA of 2048 KiB at IOVA 0xff000000 failed (ENOMEM)",
                "RLIMIT_MEMLOCK, which is 64 KiB", "twice", "ulimit -l unlimited", "/etc/security/limits.conf",
                "LimitMEMLOCK=");
        assertMentions(VfioErrors.memlock("x", 4096, -1, new SyscallException("y", Errno.ENOMEM)),
                "which is unlimited", "out of memory");
        // The map path picks this message for ENOMEM (with the process's real limit).
        assertInstanceOf(VfioException.class, VfioErrors.mapDmaFailed(4096, 0x1000_0000L,
                new SyscallException("ioctl(VFIO_IOMMU_MAP_DMA)", Errno.ENOMEM)));
    }

    @Test
    void anMlockFailureOverTheLimitIsTheMemlockErrorAndAnyOtherStaysThePools() {
        IllegalStateException pool = new IllegalStateException("the pool's own message");
        for (int errno : new int[] {Errno.ENOMEM, Errno.EPERM, Errno.EAGAIN}) {
            RuntimeException e = VfioErrors.mlockFailed(1 << 20, new SyscallException("mlock", errno), pool);
            assertEquals(Reason.MEMLOCK_LIMIT, assertInstanceOf(VfioException.class, e).reason());
            assertMentions(e, "locking 1024 KiB of DMA memory in RAM (mlock) failed", "RLIMIT_MEMLOCK");
        }
        assertSame(pool, VfioErrors.mlockFailed(1 << 20, new SyscallException("mlock", Errno.EINVAL), pool));
    }

    @Test
    void otherMapFailuresNameTheirCause() {
        RuntimeException perm = VfioErrors.mapDmaFailed(4096, 0x1000_0000L, new SyscallException("m", Errno.EPERM));
        assertEquals(Reason.PERMISSION_DENIED, assertInstanceOf(VfioException.class, perm).reason());
        assertMentions(perm, "was refused (EPERM)", "CAP_IPC_LOCK");
        RuntimeException full = VfioErrors.mapDmaFailed(4096, 0x1000_0000L, new SyscallException("m", Errno.ENOSPC));
        assertMentions(full, "dma_entry_limit");
        RuntimeException other = VfioErrors.mapDmaFailed(4096, 0x1000_0000L, new SyscallException("m", Errno.EINVAL));
        assertMentions(other, "VFIO_IOMMU_MAP_DMA of 4 KiB at IOVA 0x10000000 failed", "EINVAL");
    }

    @Test
    void anIommuWithoutInterruptRemappingIsExplained() {
        VfioException e = VfioErrors.setIommuFailed("type1v2", new SyscallException("ioctl", Errno.EPERM));
        assertEquals(Reason.UNSUPPORTED, e.reason());
        assertMentions(e, "interrupt remapping", "allow_unsafe_interrupts=1");
    }
}
