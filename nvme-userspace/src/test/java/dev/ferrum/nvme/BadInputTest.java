package dev.ferrum.nvme;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciProbeException;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.mock.MockNvmeController;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad inputs, and devices the driver cannot use, each refused with a message naming the problem. */
class BadInputTest {

    @Test
    void aDataBufferNotFourByteAlignedIsRefused() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer b = t.buffer(8192)) {
            DmaBuffer odd = b.slice(2, 4096);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> qp.read(t.ns(), 0, 1, odd));
            assertTrue(e.getMessage().endsWith("is not 4-byte aligned, as NVMe requires of data buffers"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> qp.writeAsync(t.ns(), 0, 1, odd));
            assertEquals(0, qp.outstanding());
            qp.read(t.ns(), 0, 1, b.slice(4, 4096)); // dword aligned is enough
        }
    }

    @Test
    void writeZeroesAndDeallocateOnAControllerWithoutThemAreUnsupported() {
        var config = TestBed.config(512).writeZeroes(false).datasetManagement(false).build();
        try (TestBed t = new TestBed(config); IoQueuePair qp = t.ctrl.createQueuePair()) {
            assertEquals("controller 0000:00:04.0 does not support Write Zeroes",
                    assertThrows(UnsupportedOperationException.class, () -> qp.writeZeroes(t.ns(), 0, 8))
                            .getMessage());
            assertEquals("controller 0000:00:04.0 does not support Dataset Management (deallocate)",
                    assertThrows(UnsupportedOperationException.class, () -> qp.deallocate(t.ns(), 0, 8))
                            .getMessage());
            assertThrows(UnsupportedOperationException.class, () -> qp.writeZeroesAsync(t.ns(), 0, 8));
            assertThrows(UnsupportedOperationException.class, () -> t.ns().deallocate(0, 8));
            assertEquals(0, qp.outstanding());
            assertEquals(0, t.mock.ioCommandsReceived(0x08) + t.mock.ioCommandsReceived(0x09), "nothing reached the device");
        }
    }

    private static String probeFailure(MockNvmeController.Config config) {
        MockNvmeController mock = new MockNvmeController(config);
        try (PciBus bus = PciBus.open(new MockPciBus().add(TestBed.ADDRESS, mock, MockPciBus.Mode.THREADED))) {
            PciProbeException e = assertThrows(PciProbeException.class,
                    () -> NvmeController.attach(bus, TestBed.ADDRESS, TestBed.shortTimeouts().build()));
            assertTrue(bus.driverOf(bus.device(TestBed.ADDRESS).orElseThrow()).isEmpty());
            return e.getMessage();
        }
    }

    @Test
    void controllerFatalStatusWhileEnablingFailsProbe() {
        String m = probeFailure(TestBed.config(512).fatalOnEnable(true).build());
        assertTrue(m.contains("0000:00:04.0: controller fatal status (CSTS.CFS) while enabling"), m);
    }

    @Test
    void aMinimumPageSizeAbove4KiBIsRefused() {
        String m = probeFailure(TestBed.config(512).mpsMin(1).build());
        assertTrue(m.contains("the controller's minimum memory page size is 8192 bytes; this driver uses 4096"), m);
    }

    @Test
    void aControllerWithoutTheNvmCommandSetIsRefused() {
        String m = probeFailure(TestBed.config(512).nvmCommandSet(false).build());
        assertTrue(m.contains("the controller does not support the NVM command set"), m);
    }

    @Test
    void afterSurpriseRemovalErrorsSayTheDeviceWasRemoved() {
        TestBed t = new TestBed();
        DmaBuffer b = t.buffer(4096); // freed with the device's DMA pool at removal, so not closed here
        t.ns().write(0, 1, b); // creates the namespace's default queue pair
        IoQueuePair qp = t.ctrl.createQueuePair();
        t.mockBus.surpriseRemove(TestBed.ADDRESS);
        assertEquals("queue pair 2 of 0000:00:04.0 failed with its controller: the device was removed",
                assertThrows(ControllerFailedException.class, () -> qp.read(t.ns(), 0, 1, b)).getMessage());
        assertEquals("controller 0000:00:04.0 is closed: the device was removed",
                assertThrows(IllegalStateException.class, () -> t.ns().read(0, 1, b)).getMessage());
        t.close();
    }
}
