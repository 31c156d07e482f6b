package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link VfioSetup} against the guest's real sysfs: status of the function bound to vfio-pci, binding it again is a
 * no-op, unbinding is refused while the group is open, and an unbind/bind round trip (the guest has no kernel NVMe
 * driver, so the function is driverless in between) leaves it usable through VFIO again.
 */
@Tag("vfio")
class VfioSetupVmTest {

    @Test
    void statusBindUnbindRoundTripOnTheRealSysfs() {
        PciAddress a = VfioVm.bdf();
        int group = VfioVm.group();
        VfioSetup setup = VfioSetup.create();
        VfioSetup.Status s = setup.status(a);
        assertTrue(s.boundToVfio(), s.describe());
        assertEquals(VfioVm.QEMU_VENDOR, s.vendorId());
        assertEquals(0x010802, s.classCode());
        assertEquals(group, s.iommuGroup().orElseThrow());
        assertEquals(Optional.of(Path.of("/dev/vfio/" + group)), s.vfioGroupNode());
        assertTrue(s.groupViable(), s.describe());
        assertTrue(s.blockDevices().isEmpty() && s.inUse().isEmpty(), s.describe());

        assertEquals(s, setup.bind(a), "binding a function already bound to vfio-pci changes nothing");

        try (VfioBackend busy = VfioBackend.open(a)) {
            VfioException e = assertThrows(VfioException.class, () -> setup.unbind(a));
            assertEquals(VfioException.Reason.GROUP_BUSY, e.reason(), e.getMessage());
            assertEquals(1, busy.functions().size());
        }
        assertTrue(setup.status(a).boundToVfio(), "a refused unbind left the binding alone");

        try {
            VfioSetup.Status released = setup.unbind(a);
            assertEquals(Optional.empty(), released.driver(), "no kernel NVMe driver in the guest: " + released.describe());
            assertEquals("", released.driverOverride());
            assertFalse(Files.exists(Path.of("/dev/vfio/" + group)), "the VFIO group node went away with vfio-pci");
            VfioException e = assertThrows(VfioException.class, () -> VfioBackend.open(a));
            assertEquals(VfioException.Reason.NOT_BOUND_TO_VFIO_PCI, e.reason(), e.getMessage());
        } finally {
            VfioSetup.Status bound = setup.bind(a);
            assertTrue(bound.boundToVfio(), bound.describe());
            assertEquals("vfio-pci", bound.driverOverride());
        }
        assertTrue(Files.exists(Path.of("/dev/vfio/" + group)), "the node is back");
        try (VfioBackend again = VfioBackend.open(a)) {
            assertEquals(1, again.functions().size());
        }
    }
}
