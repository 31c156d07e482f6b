package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;
import dev.ferrum.memory.DmaBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Two NVMe controllers in two IOMMU groups opened by one {@link VfioBackend}: both groups join one VFIO container,
 * so they share one IOMMU domain; a buffer mapped through either device's pool is reachable by both, and each
 * controller runs its own admin queue with its own MSI-X interrupts. The VM provides the second controller
 * ({@code FERRUM_VFIO_BDF2}); on a real machine the test runs only when that variable names a second function bound
 * to vfio-pci.
 */
@Tag("vfio")
@EnabledIf("twoDevices")
class VfioMultiDeviceVmTest {

    static boolean twoDevices() {
        return "1".equals(System.getenv("FERRUM_VM")) || System.getenv("FERRUM_VFIO_BDF2") != null;
    }

    private static String ascii(MemorySegment s, long offset, int length) {
        return new String(s.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
    }

    /** Binds every QEMU NVMe controller and stops each one at remove. */
    static final class TwoDeviceDriver implements PciDriver {
        final Map<PciAddress, PciDevice> devices = new ConcurrentHashMap<>();

        @Override
        public String name() {
            return "vfio-multi-test";
        }

        @Override
        public List<DeviceId> idTable() {
            return List.of(DeviceId.of(VfioVm.QEMU_VENDOR, VfioVm.QEMU_NVME));
        }

        @Override
        public void probe(PciDevice device, DeviceId id) {
            devices.put(device.address(), device);
        }

        @Override
        public void remove(PciDevice device) {
            device.bar(0).tryAccess().ifPresent(a -> {
                try (a) {
                    VfioVm.disable(a.get().mmio());
                }
            });
        }
    }

    @Test
    void twoGroupsShareOneContainerAndOneDmaAddressSpace() throws Exception {
        PciAddress a = VfioVm.bdf();
        PciAddress b = VfioVm.bdf2();
        VfioBackend backend = VfioBackend.open(a, b);
        try (PciBus bus = PciBus.open(backend)) {
            assertEquals(VfioVm.group(), backend.iommuGroup(a));
            assertEquals(VfioVm.group2(), backend.iommuGroup(b));
            assertNotEquals(backend.iommuGroup(a), backend.iommuGroup(b), "two IOMMU groups in one container");
            assertEquals(List.of(a, b), backend.functions().stream().map(f -> f.address()).toList());

            TwoDeviceDriver driver = new TwoDeviceDriver();
            assertEquals(2, bus.register(driver).size(), "one driver binds both controllers");
            PciDevice devA = driver.devices.get(a);
            PciDevice devB = driver.devices.get(b);
            assertSame(devA.dmaPool().addressSpace(), devB.dmaPool().addressSpace(),
                    "both devices allocate in the container's one address space");
            VfioVm.AdminQueue qa = new VfioVm.AdminQueue(devA);
            VfioVm.AdminQueue qb = new VfioVm.AdminQueue(devB);

            // Each controller writes its Identify data into a buffer the *other* device's pool mapped.
            DmaBuffer fromA = devA.dmaPool().allocate(4096);
            DmaBuffer fromB = devB.dmaPool().allocate(4096);
            assertNotEquals(fromA.deviceAddress(), fromB.deviceAddress(), "distinct IOVAs in the shared domain");
            assertEquals(0, qb.identify(fromA.deviceAddress()), "B's Identify into A's buffer");
            assertEquals(0, qa.identify(fromB.deviceAddress()), "A's Identify into B's buffer");
            assertEquals("ferrum-vm-0002", ascii(fromA.segment(), 4, 20), "B's serial number, in A's buffer");
            assertEquals("ferrum-vm-0001", ascii(fromB.segment(), 4, 20), "A's serial number, in B's buffer");
            assertEquals(1, qa.vector.total(), "A's interrupt on A's vector");
            assertEquals(1, qb.vector.total(), "B's interrupt on B's vector");

            // Unbinding one leaves the other running.
            bus.unbind(devA);
            assertFalse(fromA.isAlive(), "A's buffer was released (and unmapped) at A's unbind");
            DmaBuffer again = devB.dmaPool().allocate(4096);
            assertEquals(0, qb.identify(again.deviceAddress()), "B still works after A was unbound");
            assertEquals("ferrum-vm-0002", ascii(again.segment(), 4, 20));
        }
        // Both groups were released: each can be opened alone again.
        VfioBackend.open(b).close();
        VfioBackend.open(a).close();
        assertThrows(IllegalArgumentException.class, () -> VfioBackend.open(a, a), "a function named twice");
    }
}
