package dev.ferrum.example.javadoc;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.vfio.VfioBackend;
import dev.ferrum.driver.vfio.VfioSetup;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeDriver;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The examples of the {@code dev.ferrum.driver.vfio} Javadoc, run against real VFIO: in the test VM
 * ({@code ./ferrum vm-test}) or on a VFIO machine ({@code ./ferrum vfio-test --pci BDF}), where
 * {@code FERRUM_VFIO_BDF} names an NVMe controller bound to vfio-pci. Read-only: nothing is written to the drive.
 * Elsewhere they fail (the host's surefire run excludes the tag).
 */
@Tag("vfio")
class VfioExamplesTest {

    private static String bdf() {
        String bdf = System.getenv("FERRUM_VFIO_BDF");
        assertNotNull(bdf, "FERRUM_VFIO_BDF is not set: run with ./ferrum vm-test or ./ferrum vfio-test --pci BDF");
        return bdf;
    }

    @Test
    void bindOpenAndDriveARealController() {
        String bdf = bdf();
        // @start region="open"
        PciAddress nvme = PciAddress.parse(bdf);
        VfioSetup.create().bind(nvme);                          // as root, once: hand the function to vfio-pci
        try (PciBus bus = PciBus.open(VfioBackend.open(nvme))) {
            NvmeDriver driver = new NvmeDriver();
            bus.register(driver);                               // the same driver code as on the mock bus
            NvmeController ctrl = driver.controller(nvme).orElseThrow();
            System.out.println(ctrl.info().modelNumber() + ", serial " + ctrl.info().serialNumber());
        }
        // @end
    }

    @Test
    void setupReportsTheFunctionsState() {
        String bdf = bdf();
        // @start region="status"
        VfioSetup.Status status = VfioSetup.create().status(PciAddress.parse(bdf));
        System.out.println(status.describe());                  // driver, IOMMU group and its members, users
        // @end
        assertTrue(status.boundToVfio(), status.describe());
        assertTrue(status.groupViable(), status.describe());
        assertEquals(0x010802, status.classCode());
        assertFalse(status.describe().isBlank());
    }
}
