package dev.ferrum.example.javadoc;

import dev.ferrum.driver.mock.DeviceModel;
import dev.ferrum.driver.mock.IommuFault;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.spi.BarInfo;
import dev.ferrum.driver.pci.spi.PciBackend;
import dev.ferrum.driver.pci.spi.PciFunction;
import dev.ferrum.example.checksum.ChecksumDriver;
import dev.ferrum.example.checksum.model.ChecksumAccelerator;
import dev.ferrum.memory.Mmio;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The examples of the {@code dev.ferrum.driver.pci}, {@code pci.spi} and {@code mock} Javadoc, compiled and run.
 */
class PciExamplesTest {

    @Test
    void aBusProbesTheDriversThatMatch() {
        // @start region="bus"
        try (PciBus bus = PciBus.open(new MockPciBus().add("0000:01:00.0", new ChecksumAccelerator()))) {
            ChecksumDriver driver = new ChecksumDriver();
            List<PciDevice> bound = bus.register(driver);     // probe() for every match; failures are logged
            for (PciDevice device : bus.devices()) {
                System.out.println(device + " -> " + bus.driverOf(device).map(d -> d.name()).orElse("no driver"));
            }
            bus.unbind(bound.getFirst());                       // remove(), then the binding's resources go
        }                                                       // every driver removed, the backend closed
        // @end
    }

    @Test
    void deviceIdsMatchByIdsOrByClass() {
        // @start region="device-id"
        List<DeviceId> ids = List.of(
                DeviceId.of(0x1b36, 0x0010),                    // QEMU's NVMe controller
                DeviceId.of(0x144d, 0xa808).withSubsystem(0x144d, 0xa801), // one vendor's board only
                DeviceId.ofClass(PciConfig.CLASS_NVME, 0xffffff)); // any NVMe controller (class 01:08:02)
        // @end
        assertTrue(ids.get(0).matches(0x1b36, 0x0010, 0x1af4, 0x1100, 0x010802));
        assertFalse(ids.get(1).matches(0x144d, 0xa808, 0x144d, 0xa802, 0x010802));
        assertTrue(ids.get(2).matches(0x8086, 0xf1a8, 0x8086, 0x390d, 0x010802));
    }

    @Test
    void aDeviceWithoutADriverCanBeUsedDirectly() {
        PciAddress a = PciAddress.parse("0000:01:00.0");
        try (PciBus bus = PciBus.open(new MockPciBus().add(a, new ChecksumAccelerator(), MockPciBus.Mode.STEPPED))) {
            // @start region="device"
            PciDevice device = bus.device(a).orElseThrow();
            device.enableMemory();
            device.setBusMaster(true);
            Mmio bar0 = device.bar(0).get().mmio();             // released when the bus closes
            int id = bar0.read32(0x00);
            boolean msix = device.capability(PciConfig.CAP_MSIX).isPresent();
            int vectors = device.msixVectorCount();
            // @end
            assertEquals(0x4353_0001, id);
            assertTrue(msix);
            assertEquals(1, vectors);
        }
    }

    @Test
    void aBackendListsFunctionsForTheBus() {
        // @start region="backend"
        PciBackend backend = new MockPciBus().add("0000:01:00.0", new ChecksumAccelerator());
        for (PciFunction f : backend.functions()) {             // what a backend gives the bus
            BarInfo bar0 = f.barInfo(0);
            System.out.println(f.address() + ": BAR0 " + bar0.size() + " bytes, config space " + f.configSize());
        }
        try (PciBus bus = PciBus.open(backend)) {               // drivers only ever see the bus
            assertEquals(1, bus.devices().size());
        }
        // @end
    }

    @Test
    void aSteppedModelMovesOnlyWhenTheTestSaysSo() {
        PciAddress a = PciAddress.parse("0000:01:00.0");
        // @start region="stepped"
        MockPciBus mock = new MockPciBus().add(a, new ChecksumAccelerator(), MockPciBus.Mode.STEPPED);
        try (PciBus bus = PciBus.open(mock)) {
            PciDevice device = bus.device(a).orElseThrow();
            device.enableMemory();
            device.setBusMaster(true);
            Mmio regs = device.bar(0).get().mmio();
            regs.write64(0x10, device.dmaPool().allocate(4096).deviceAddress()); // RING_BASE
            regs.write32(0x18, 64);                             // RING_SIZE
            regs.write32(0x08, 1);                              // CTRL.EN
            assertEquals(0, regs.read32(0x0c));                 // nothing happens until the model is stepped
            DeviceModel model = mock.model(a);
            assertTrue(model.step());
            assertEquals(1, regs.read32(0x0c));                 // STATUS.RDY
        }
        // @end
    }

    /** A stepped CSUM-1 at {@code a} with memory and bus mastering enabled, and its registers. */
    private record Stepped(MockPciBus mock, PciBus bus, Mmio regs) implements AutoCloseable {
        static Stepped open(PciAddress a) {
            MockPciBus mock = new MockPciBus().add(a, new ChecksumAccelerator(), MockPciBus.Mode.STEPPED);
            PciBus bus = PciBus.open(mock);
            PciDevice device = bus.device(a).orElseThrow();
            device.enableMemory();
            device.setBusMaster(true);
            return new Stepped(mock, bus, device.bar(0).get().mmio());
        }

        @Override
        public void close() {
            bus.close();
        }
    }

    @Test
    void faultsAreInjectedAndIommuFaultsRecorded() {
        PciAddress a = PciAddress.parse("0000:01:00.0");
        try (Stepped stepped = Stepped.open(a)) {
            MockPciBus mock = stepped.mock();
            Mmio regs = stepped.regs();
            // @start region="iommu"
            regs.write64(0x10, 0x7000_0000L);                   // RING_BASE: an address nothing mapped
            regs.write32(0x18, 64);
            regs.write32(0x08, 1);                              // CTRL.EN
            mock.model(a).step();                               // the device takes the ring
            regs.write32(0x1c, 1);                              // DOORBELL: one descriptor
            mock.model(a).step();                               // its fetch is blocked by the IOMMU
            IommuFault fault = mock.iommu(a).faults().getFirst();
            assertEquals(0x7000_0000L, fault.deviceAddress());
            assertEquals("not mapped", fault.reason());
            // @end
            assertTrue((regs.read32(0x0c) & 2) != 0, "the device halted");
        }
    }
}
