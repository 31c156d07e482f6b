package dev.ferrum.example.javadoc;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.spi.PciBackend;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoQueuePair;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NvmeCommandException;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeDriver;
import dev.ferrum.nvme.NvmeOptions;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.mock.CommandView;
import dev.ferrum.nvme.mock.MockNvmeController;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The examples of the {@code dev.ferrum.nvme} and {@code dev.ferrum.nvme.mock} Javadoc, compiled and run. */
class NvmeExamplesTest {
    static final PciAddress NVME = PciAddress.parse("0000:01:00.0");

    private static PciBackend mockBackend() {
        return new MockPciBus().add(NVME, new MockNvmeController(), MockPciBus.Mode.THREADED);
    }

    @Test
    void attachReadAndWrite() {
        PciBackend backend = mockBackend();
        // @start region="attach"
        try (PciBus bus = PciBus.open(backend);
             NvmeController ctrl = NvmeController.attach(bus, PciAddress.parse("0000:01:00.0"), NvmeOptions.defaults());
             IoQueuePair qp = ctrl.createQueuePair()) {
            Namespace ns = ctrl.namespace(1);
            try (DmaBuffer buf = ctrl.dmaPool().allocate(4096)) {
                buf.segment().fill((byte) 0x5a);
                qp.write(ns, 0, 4096 / ns.blockSize(), buf);   // waits for the completion; throws on an error
                buf.segment().fill((byte) 0);
                qp.read(ns, 0, 4096 / ns.blockSize(), buf);
            }
        }
        // @end
    }

    @Test
    void theDriverOnABus() {
        // @start region="driver"
        try (PciBus bus = PciBus.open(mockBackend())) {
            NvmeDriver driver = new NvmeDriver(NvmeOptions.builder().ioQueues(2).build());
            bus.register(driver);                               // binds every NVMe controller (class 01:08:02)
            for (NvmeController ctrl : driver.controllers()) {
                System.out.println(ctrl.address() + ": " + ctrl.info().modelNumber() + ", "
                        + ctrl.namespaces().size() + " namespace(s)");
            }
        }
        // @end
    }

    @Test
    void theMockControllerInjectsFaults() throws Exception {
        // @start region="mock"
        MockNvmeController nvme = new MockNvmeController(MockNvmeController.Config.builder()
                .namespace(1 << 20, 4096).maxIoQueuePairs(4).mdts(5).build());
        MockPciBus mock = new MockPciBus().add(PciAddress.parse("0000:01:00.0"), nvme, MockPciBus.Mode.THREADED);
        nvme.injectStatus(CommandView.io(0x02), NvmeStatus.UNRECOVERED_READ_ERROR, true, 1); // the next Read fails
        // @end
        try (PciBus bus = PciBus.open(mock);
             NvmeController ctrl = NvmeController.attach(bus, NVME, NvmeOptions.defaults());
             IoQueuePair qp = ctrl.createQueuePair();
             DmaBuffer buf = ctrl.dmaPool().allocate(4096)) {
            Namespace ns = ctrl.namespace(1);
            NvmeCommandException e = assertThrows(NvmeCommandException.class, () -> qp.read(ns, 0, 1, buf));
            assertEquals(NvmeStatus.UNRECOVERED_READ_ERROR, e.status());
            assertTrue(e.doNotRetry());
            buf.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            qp.write(ns, 0, 1, buf);
            qp.read(ns, 0, 1, buf);
            assertEquals(1, buf.segment().get(ValueLayout.JAVA_BYTE, 0), "only the first read failed");
        }
    }
}
