package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.VfioException.Reason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link VfioSetup} against a fake sysfs/proc/dev tree with a simulated kernel ({@link FakeHost}). */
class VfioSetupTest {
    private static final String BDF = "0000:01:00.0";
    private static final PciAddress A = PciAddress.parse(BDF);

    @TempDir
    Path root;

    /** An NVMe controller bound to the kernel's nvme driver, in IOMMU group 7, vfio-pci loaded. */
    private FakeHost nvmeHost() {
        return new FakeHost(root).nvme(BDF).bind(BDF, "nvme").group(BDF, 7).driver("vfio-pci");
    }

    private static VfioException refused(Reason reason, FakeHost host, Runnable action) {
        VfioException e = assertThrows(VfioException.class, action::run);
        assertEquals(reason, e.reason(), e.getMessage());
        assertEquals(List.of(), host.writes, "nothing is written when a check fails");
        return e;
    }

    @Test
    void bindingAnUnusedControllerUnbindsOverridesProbesAndVerifies() {
        FakeHost host = nvmeHost().namespace(BDF, 0, 1, 2);
        VfioSetup.Status s = host.setup().bind(A);
        assertEquals(List.of(
                "bus/pci/devices/" + BDF + "/driver/unbind=" + BDF,
                "bus/pci/devices/" + BDF + "/driver_override=vfio-pci",
                "bus/pci/drivers_probe=" + BDF), host.writes);
        assertTrue(s.boundToVfio(), s.describe());
        assertEquals("vfio-pci", s.driverOverride());
        assertEquals(7, s.iommuGroup().orElseThrow());
        assertEquals(Optional.of(host.dev.resolve("vfio/7")), s.vfioGroupNode());
        assertEquals(List.of("nvme0n1", "nvme0n1p1", "nvme0n1p2"), s.blockDevices());
        assertTrue(s.describe().contains("IOMMU group 7: " + host.dev.resolve("vfio/7")), s.describe());
    }

    @Test
    void bindingADriverlessFunctionSkipsTheUnbind() {
        FakeHost host = new FakeHost(root).nvme(BDF).group(BDF, 7).driver("vfio-pci");
        assertTrue(host.setup().bind(BDF).boundToVfio());
        assertEquals(2, host.writes.size(), host.writes.toString());
        assertTrue(host.writes.getFirst().endsWith("driver_override=vfio-pci"), host.writes.toString());
    }

    @Test
    void aFunctionAlreadyBoundToVfioPciIsLeftAlone() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "vfio-pci").group(BDF, 7).vfioNode(7);
        VfioSetup.Status s = host.setup().bind(A);
        assertTrue(s.boundToVfio());
        assertEquals(List.of(), host.writes);
    }

    @Test
    void onlyExplicitlyNamedFunctionsAreAccepted() {
        FakeHost host = nvmeHost();
        VfioSetup setup = host.setup();
        for (String wildcard : new String[] {"all", "ALL", "*", "", "  ", "any"}) {
            VfioException e = refused(Reason.NOT_EXPLICITLY_NAMED, host, () -> setup.bind(wildcard));
            assertTrue(e.getMessage().contains("explicitly"), e.getMessage());
        }
        refused(Reason.NOT_EXPLICITLY_NAMED, host, () -> setup.bind((String) null));
        VfioException e = refused(Reason.NOT_EXPLICITLY_NAMED, host, () -> setup.unbind("nvme0"));
        assertTrue(e.getMessage().contains("'nvme0' is not a PCI address"), e.getMessage());
    }

    @Test
    void aMissingFunctionIsNamedWithTheLspciHint() {
        FakeHost host = nvmeHost();
        VfioException e = refused(Reason.DEVICE_NOT_FOUND, host, () -> host.setup().bind("0000:02:00.0"));
        assertTrue(e.getMessage().contains("0000:02:00.0 does not exist") && e.getMessage().contains("lspci -D"),
                e.getMessage());
    }

    @Test
    void aMountedPartitionIsRefused() {
        FakeHost host = nvmeHost().namespace(BDF, 0, 1, 2).mounted("/dev/nvme0n1p2", "/mnt/my\\040data", "xfs");
        VfioException e = refused(Reason.DEVICE_IN_USE, host, () -> host.setup().bind(A));
        assertTrue(e.getMessage().contains("/dev/nvme0n1p2 is mounted on /mnt/my data (xfs)"), e.getMessage());
        assertTrue(e.getMessage().contains("'nvme' driver"), e.getMessage());
    }

    @Test
    void aMountedWholeNamespaceOfTheSecondControllerIsRefused() {
        String other = "0000:02:00.0";
        FakeHost host = nvmeHost().namespace(BDF, 0, 1, 0).nvme(other).bind(other, "nvme").group(other, 8)
                .namespace(other, 1, 1, 0).mounted("/dev/nvme1n1", "/srv", "ext4");
        VfioSetup setup = host.setup();
        refused(Reason.DEVICE_IN_USE, host, () -> setup.bind(other));
        assertTrue(setup.bind(A).boundToVfio(), "the first controller's storage is unused");
    }

    @Test
    void swapIsRefused() {
        FakeHost host = nvmeHost().namespace(BDF, 0, 1, 1).swap("/dev/nvme0n1p1");
        VfioException e = refused(Reason.DEVICE_IN_USE, host, () -> host.setup().bind(A));
        assertTrue(e.getMessage().contains("swapoff /dev/nvme0n1p1"), e.getMessage());
    }

    @Test
    void lvmAndRaidHoldersAreRefused() {
        FakeHost host = nvmeHost().namespace(BDF, 0, 1, 1);
        Path part = host.deviceDir(A).resolve("nvme/nvme0/nvme0n1/nvme0n1p1");
        host.holder(part, "dm-0", "vg0-root");
        VfioException e = refused(Reason.DEVICE_IN_USE, host, () -> host.setup().bind(A));
        assertTrue(e.getMessage().contains("nvme0n1p1 is held by dm-0 (device-mapper 'vg0-root'"), e.getMessage());
        assertTrue(e.getMessage().contains("vgchange -an"), e.getMessage());

        FakeHost raid = new FakeHost(root.resolve("raid")).nvme(BDF).bind(BDF, "nvme").group(BDF, 7)
                .driver("vfio-pci").namespace(BDF, 0, 1, 0);
        raid.holder(raid.deviceDir(A).resolve("nvme/nvme0/nvme0n1"), "md127", null);
        VfioException r = refused(Reason.DEVICE_IN_USE, raid, () -> raid.setup().bind(A));
        assertTrue(r.getMessage().contains("mdadm --stop /dev/md127"), r.getMessage());
    }

    @Test
    void aMountedMultipathHeadIsFoundThroughItsPath() {
        FakeHost host = nvmeHost().multipathNamespace(BDF, 0, 0, 1).mounted("/dev/nvme0n1", "/data", "ext4");
        VfioException e = refused(Reason.DEVICE_IN_USE, host, () -> host.setup().bind(A));
        assertTrue(e.getMessage().contains("/dev/nvme0n1 is mounted on /data"), e.getMessage());
    }

    @Test
    void withoutAnIommuGroupBindingIsRefusedUnlessNoIommuModeIsOn() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "nvme").driver("vfio-pci");
        VfioException e = refused(Reason.NO_IOMMU_GROUP, host, () -> host.setup().bind(A));
        assertTrue(e.getMessage().contains("intel_iommu=on iommu=pt") && e.getMessage().contains("amd_iommu=on"),
                e.getMessage());

        FakeHost.file(host.sys.resolve("module/vfio/parameters/enable_unsafe_noiommu_mode"), "Y\n");
        assertTrue(host.setup().bind(A).boundToVfio(), "no-IOMMU mode lets vfio-pci take a function without a group");
    }

    @Test
    void anUnloadedVfioPciIsReportedWithModprobe() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "nvme").group(BDF, 7);
        VfioException e = refused(Reason.VFIO_UNAVAILABLE, host, () -> host.setup().bind(A));
        assertTrue(e.getMessage().contains("modprobe vfio-pci"), e.getMessage());
    }

    @Test
    void aProbeThatBindsNothingFails() {
        FakeHost host = nvmeHost();
        host.probeBinds = false;
        VfioException e = assertThrows(VfioException.class, () -> host.setup().bind(A));
        assertEquals(Reason.SETUP_FAILED, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("driver now: none") && e.getMessage().contains("dmesg"), e.getMessage());
    }

    @Test
    void aWriteWithoutPermissionSaysRunAsRoot() {
        FakeHost host = nvmeHost();
        VfioSetup setup = new VfioSetup(host.sys, host.proc, host.dev, (f, v) -> {
            throw new AccessDeniedException(f.toString());
        }, Duration.ofMillis(50));
        VfioException e = assertThrows(VfioException.class, () -> setup.bind(A));
        assertEquals(Reason.PERMISSION_DENIED, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("run as root"), e.getMessage());
    }

    @Test
    void unbindGivesTheFunctionBackToItsKernelDriver() {
        FakeHost host = nvmeHost();
        VfioSetup setup = host.setup();
        setup.bind(A);
        host.writes.clear();
        VfioSetup.Status s = setup.unbind(A);
        assertEquals(Optional.of("nvme"), s.driver(), s.describe());
        assertEquals("", s.driverOverride());
        assertEquals(3, host.writes.size(), host.writes.toString());
        assertTrue(host.writes.get(0).endsWith("driver/unbind=" + BDF), host.writes.toString());
        assertTrue(host.writes.get(1).endsWith("driver_override=\n"), "an empty override: " + host.writes);
        assertEquals("bus/pci/drivers_probe=" + BDF, host.writes.get(2));
        assertFalse(s.boundToVfio());
    }

    @Test
    void unbindOfAFunctionNotOnVfioPciOnlyClearsAStaleOverride() {
        FakeHost host = nvmeHost();
        assertEquals(Optional.of("nvme"), host.setup().unbind(A).driver());
        assertEquals(List.of(), host.writes, "nothing to do");
        FakeHost.file(host.deviceDir(A).resolve("driver_override"), "vfio-pci\n");
        host.setup().unbind(A);
        assertEquals(1, host.writes.size(), host.writes.toString());
        assertTrue(host.writes.getFirst().endsWith("driver_override=\n"));
    }

    @Test
    void statusDescribesGroupMembersThatBlockVfio() {
        FakeHost host = nvmeHost().function("0000:01:00.1", 0x8086, 0x1234, 0x040300).bind("0000:01:00.1",
                "snd_hda_intel").group("0000:01:00.1", 7).function("0000:00:01.0", 0x8086, 0x1901, 0x060400)
                .bind("0000:00:01.0", "pcieport").group("0000:00:01.0", 7);
        VfioSetup.Status s = host.setup().status(A);
        assertEquals(3, s.group().size(), s.group().toString());
        assertFalse(s.groupViable());
        String text = s.describe();
        assertTrue(text.startsWith("0000:01:00.0 [1b36:0010] class 010802\n  driver: nvme"), text);
        assertTrue(text.contains("also in the group: 0000:01:00.1 (snd_hda_intel)  <- must be bound to vfio-pci"),
                text);
        assertTrue(text.contains("also in the group: 0000:00:01.0 (pcieport)\n"), text);
        assertEquals("", s.driverOverride(), "the kernel's (null) means none");
        assertEquals(Optional.empty(), s.vfioGroupNode(), "not bound to vfio-pci: no node");
    }
}
