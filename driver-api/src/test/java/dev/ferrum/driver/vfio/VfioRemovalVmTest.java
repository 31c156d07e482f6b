package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.Bar;
import dev.ferrum.driver.pci.DeviceGoneException;
import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.Devres;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.RevokedException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.ferrum.driver.vfio.VfioVm.CSTS;
import static dev.ferrum.driver.vfio.VfioVm.VS;
import static dev.ferrum.driver.vfio.VfioVm.WAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The kernel takes the device back while Ferrum drives it: {@code echo 1 > /sys/bus/pci/devices/BDF/remove} (what
 * a hot-unplug does too) makes vfio-pci signal the device's request interrupt and block until the device is
 * released. The driver's {@code remove} must run while the controller still answers, every resource of the binding
 * must be released (BAR unmapped, DMA unmapped, device file closed) so that the kernel can finish, and afterwards
 * the driver's stale views fail cleanly. The test puts the device back (PCI rescan, bound to vfio-pci again) and
 * drives it once more.
 *
 * <p>Runs in the test VM; on a real machine only with {@code FERRUM_VFIO_ALLOW_REMOVE=1}, because it removes the
 * device under test from the PCI bus and rescans the bus (see docs/vfio-box.md).
 */
@Tag("vfio")
@EnabledIf("removalAllowed")
class VfioRemovalVmTest {

    static boolean removalAllowed() {
        return "1".equals(System.getenv("FERRUM_VM")) || "1".equals(System.getenv("FERRUM_VFIO_ALLOW_REMOVE"));
    }

    /** Records what {@code remove} could still see, then stops the controller as a real driver would. */
    static final class RecordingDriver implements PciDriver {
        volatile PciDevice device;
        volatile int versionSeenByRemove = -1;
        volatile int statusSeenByRemove = -1;
        final CountDownLatch removed = new CountDownLatch(1);

        @Override
        public String name() {
            return "vfio-removal-test";
        }

        @Override
        public List<DeviceId> idTable() {
            return List.of(DeviceId.of(VfioVm.QEMU_VENDOR, VfioVm.QEMU_NVME));
        }

        @Override
        public void probe(PciDevice dev, DeviceId id) {
            device = dev;
        }

        @Override
        public void remove(PciDevice dev) {
            Mmio regs = dev.bar(0).get().mmio();
            versionSeenByRemove = regs.read32(VS);
            statusSeenByRemove = regs.read32(CSTS);
            VfioVm.disable(regs); // no DMA in flight when the bus frees the queues
            removed.countDown();
        }
    }

    @Test
    void removingTheDeviceUnbindsTheDriverWhileItAnswersAndReleasesItToTheKernel() throws Exception {
        PciAddress a = VfioVm.bdf();
        int group = VfioVm.group();
        Path dir = Path.of("/sys/bus/pci/devices", a.toString());
        RecordingDriver driver = new RecordingDriver();
        VfioBackend backend = VfioBackend.open(a);
        PciBus bus = PciBus.open(backend);
        ExecutorService remover = Executors.newSingleThreadExecutor();
        try {
            assertEquals(1, bus.register(driver).size(), "the test driver binds QEMU's NVMe controller");
            PciDevice device = driver.device;
            // A live controller with admin queues, MSI-X and a DMA buffer, as a real driver has.
            VfioVm.AdminQueue admin = new VfioVm.AdminQueue(device);
            DmaBuffer data = device.dmaPool().allocate(4096);
            assertEquals(0, admin.identify(data.deviceAddress()), "Identify succeeds before the removal");
            Devres<Bar> bar = device.bar(0);
            Mmio regs = bar.get().mmio();
            int version = regs.read32(VS);

            // As root, ask the kernel to remove the function. The write returns only once Ferrum released it.
            Future<?> removal = remover.submit(() -> {
                Files.writeString(dir.resolve("remove"), "1");
                return null;
            });
            assertTrue(driver.removed.await(WAIT_SECONDS, TimeUnit.SECONDS),
                    "the driver's remove ran within " + WAIT_SECONDS + " s of the kernel's request");
            removal.get(WAIT_SECONDS, TimeUnit.SECONDS);

            assertEquals(version, driver.versionSeenByRemove, "remove read the live registers (VS)");
            assertEquals(1, driver.statusSeenByRemove & 1, "remove saw the controller still running (CSTS.RDY)");
            assertFalse(Files.exists(dir), "the kernel finished removing " + a);
            assertTrue(bar.isRevoked(), "the BAR window is revoked");
            assertThrows(RevokedException.class, () -> regs.read32(VS), "a stale register view fails cleanly");
            assertFalse(data.isAlive(), "the DMA buffer of the binding is released");
            assertFalse(admin.sq.isAlive(), "the admin queue memory is released");
            assertTrue(bus.devices().isEmpty(), "the bus forgot the device");
            assertTrue(backend.functions().isEmpty(), "the backend closed the function");
            DeviceGoneException released = assertThrows(DeviceGoneException.class,
                    () -> backend.barRead(a, 0, VS, 4));
            assertTrue(released.getMessage().contains("kernel's request"), released.getMessage());
            assertFalse(device.isPresent());
            assertThrows(DeviceGoneException.class, () -> device.bar(0));
            assertTrue(VfioVm.dmesg().stream().anyMatch(l -> l.contains("Relaying device request to user")),
                    "the kernel used the request interrupt");
        } finally {
            remover.shutdownNow();
            bus.close();
            restore(a, group, dir);
        }

        // The function is back: a new session drives it.
        try (VfioVm.Session s = VfioVm.open()) {
            VfioVm.AdminQueue admin = new VfioVm.AdminQueue(s.device());
            DmaBuffer data = s.device().dmaPool().allocate(4096);
            assertEquals(0, admin.identify(data.deviceAddress()), "Identify succeeds after the rescan");
        }
    }

    /** Rescans the bus if the function is gone and binds it to vfio-pci again, in the same IOMMU group. */
    private static void restore(PciAddress a, int group, Path dir) throws Exception {
        if (!Files.exists(dir)) {
            Files.writeString(Path.of("/sys/bus/pci/rescan"), "1");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (!Files.exists(dir)) {
                if (System.nanoTime() - deadline > 0) {
                    fail(a + " did not come back after a PCI rescan");
                }
                Thread.sleep(50);
            }
        }
        VfioSetup.Status status = VfioSetup.create().bind(a);
        assertTrue(status.boundToVfio(), "bound to vfio-pci again: " + status.describe());
        assertEquals(group, status.iommuGroup().orElse(-1),
                "the same IOMMU group after the rescan (the other VFIO tests use FERRUM_VFIO_GROUP)");
    }
}
