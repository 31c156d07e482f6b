package dev.ferrum.nvme;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciProbeException;
import dev.ferrum.nvme.mock.MockNvmeController;
import dev.ferrum.sys.nvme.Nvme;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BringUpTest {

    @Test
    void identifyAndNamespacesComeFromTheController() {
        var config = TestBed.config(4096).namespace(1000, 512).serial("SER-42").model("Test Model")
                .maxQueueEntries(64).build();
        try (TestBed t = new TestBed(config)) {
            ControllerInfo i = t.ctrl.info();
            assertEquals(MockNvmeController.VENDOR_ID, i.vendorId());
            assertEquals("SER-42", i.serialNumber());
            assertEquals("Test Model", i.modelNumber());
            assertEquals(4096L << 5, t.ctrl.maxTransferBytes());
            assertEquals(64, t.ctrl.capabilities().maxQueueEntries());
            assertEquals(2, t.ctrl.namespaces().size());
            assertEquals(4096, t.ctrl.namespace(1).blockSize());
            assertEquals(64L * 1024 * 1024 / 4096, t.ctrl.namespace(1).blockCount());
            assertEquals(512, t.ctrl.namespace(2).blockSize());
            assertEquals(1000, t.ctrl.namespace(2).blockCount());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.ctrl.namespace(3));
            assertTrue(e.getMessage().contains("no active namespace 3 (active: [1, 2])"), e.getMessage());
            assertEquals(NvmeController.State.LIVE, t.ctrl.state());
            // The AER is submitted without waiting (it completes only when an event happens): give the controller's
            // thread a bounded moment to fetch it.
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (t.mock.outstandingAsyncEventRequests() == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(1, t.mock.outstandingAsyncEventRequests(), "an AER is armed");
        }
    }

    @Test
    void fewerQueuesThanAskedAreCopedWith() {
        var config = TestBed.config(512).maxIoQueuePairs(2).build();
        try (TestBed t = new TestBed(config, o -> o.ioQueues(4))) {
            assertEquals(2, t.ctrl.maxQueuePairs());
            try (IoQueuePair a = t.ctrl.createQueuePair(); IoQueuePair b = t.ctrl.createQueuePair()) {
                assertEquals(1, a.id());
                assertEquals(2, b.id());
                IllegalStateException e = assertThrows(IllegalStateException.class, t.ctrl::createQueuePair);
                assertTrue(e.getMessage().contains("all 2 I/O queue pairs granted"), e.getMessage());
            }
            try (IoQueuePair again = t.ctrl.createQueuePair()) {
                assertEquals(1, again.id(), "a closed pair's queue ID is reused");
            }
        }
    }

    @Test
    void queueDepthIsCappedByMqes() {
        var config = TestBed.config(512).maxQueueEntries(16).build();
        try (TestBed t = new TestBed(config);
             IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder().depth(1024).build())) {
            assertEquals(16, qp.depth());
            assertEquals(15, qp.capacity());
        }
    }

    @Test
    void closeShutsTheControllerDownCleanly() {
        TestBed t = new TestBed();
        try (IoQueuePair qp = t.ctrl.createQueuePair()) {
            assertTrue(qp.isOpen());
        }
        t.close();
        assertEquals(1, t.mock.shutdowns(), "CC.SHN normal shutdown was performed");
        assertEquals(NvmeController.State.CLOSED, t.ctrl.state());
        assertThrows(IllegalStateException.class, t.ctrl::createQueuePair);
        assertThrows(IllegalStateException.class, t.ctrl::smartLog);
    }

    @Test
    void controllerThatNeverBecomesReadyFailsProbeWithTheReason() {
        var config = TestBed.config(512).timeout(1).readyDelay(Duration.ofSeconds(30)).build();
        MockNvmeController mock = new MockNvmeController(config);
        try (PciBus bus = PciBus.open(new MockPciBus().add(TestBed.ADDRESS, mock, MockPciBus.Mode.THREADED))) {
            PciProbeException e = assertThrows(PciProbeException.class,
                    () -> NvmeController.attach(bus, TestBed.ADDRESS, TestBed.shortTimeouts().build()));
            assertTrue(e.getMessage().contains("CSTS.RDY did not become 1 within CAP.TO = 500 ms"), e.getMessage());
            assertTrue(bus.driverOf(bus.device(TestBed.ADDRESS).orElseThrow()).isEmpty());
        }
    }

    @Test
    void attachToAbsentOrNonNvmeFunctionIsAClearError() {
        try (PciBus bus = PciBus.open(new MockPciBus())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NvmeController.attach(bus, TestBed.ADDRESS, NvmeOptions.defaults()));
            assertTrue(e.getMessage().startsWith("no PCI function 0000:00:04.0 on the mock bus"), e.getMessage());
        }
    }

    @Test
    void pollingOnlyWhenInterruptsAreOff() {
        try (TestBed t = new TestBed(TestBed.config(512).build(), o -> o.interrupts(false))) {
            assertEquals(0, t.ctrl.interruptVectors());
            assertThrows(IllegalStateException.class, () -> t.ctrl.createQueuePair(QueuePairOptions.builder()
                    .completion(QueuePairOptions.Completion.INTERRUPT).build()));
            try (var buf = t.buffer(4096)) {
                t.ns().write(0, 8, buf);
                t.ns().read(0, 8, buf);
            }
            assertFalse(t.ctrl.namespaces().isEmpty());
        }
    }
}
