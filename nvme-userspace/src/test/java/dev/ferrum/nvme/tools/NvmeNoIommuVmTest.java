package dev.ferrum.nvme.tools;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.vfio.VfioBackend;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeOptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The unchanged NVMe driver in VFIO's unsafe no-IOMMU mode, in the test VM without an IOMMU
 * ({@code ./ferrum vm-test --no-iommu}): bring-up, I/O queues, PRP lists and transfers split at MDTS, on physical
 * addresses. The device's DMA pool takes huge pages by itself because the address space requires them.
 */
@Tag("vfio-noiommu")
class NvmeNoIommuVmTest {

    @Test
    void theDriverRunsOnPhysicalAddresses() {
        String bdf = System.getenv("FERRUM_VFIO_BDF");
        assertNotNull(bdf, "FERRUM_VFIO_BDF is not set: this test runs in the test VM (./ferrum vm-test --no-iommu)");
        PciAddress address = PciAddress.parse(bdf);
        VfioBackend backend = VfioBackend.builder().device(address).unsafeNoIommu(true).open();
        try (PciBus bus = PciBus.open(backend);
             NvmeController ctrl = NvmeController.attach(bus, address, NvmeOptions.builder().ioQueues(2)
                     .commandTimeout(Duration.ofSeconds(20)).build())) {
            assertEquals("no-IOMMU", backend.iommuType());
            assertEquals("ferrum-vm-0001", ctrl.info().serialNumber());
            assertTrue(ctrl.dmaPool().usesHugePages(), "no-IOMMU DMA memory is huge pages");
            VerifyRun run = new VerifyRun(ctrl, ctrl.namespace(1), 7, 1, new java.io.PrintWriter(System.out, true));
            VerifyRun.Result r = run.run();
            run.report(r);
            assertTrue(r.ok(), r.problems().toString());
            assertTrue(r.extents() >= 5, "extents verified: " + r.extents());
        }
    }
}
