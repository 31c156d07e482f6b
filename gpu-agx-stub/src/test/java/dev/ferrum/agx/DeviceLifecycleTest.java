package dev.ferrum.agx;

import dev.ferrum.agx.firmware.AgxFirmware;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciProbeException;
import dev.ferrum.memory.DmaPool;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bring-up, binding through the PCI driver model, surprise removal and device close. */
class DeviceLifecycleTest {

    @Test
    void theDriverBindsThroughThePciBusAndReleasesEverythingOnUnbind() throws Exception {
        long before = DmaPool.liveBuffersGlobally();
        AgxDriver driver = new AgxDriver();
        try (PciBus bus = PciBus.open(new MockPciBus().add(TestBed.ADDRESS.toString(), new AgxFirmware()))) {
            assertEquals(1, bus.register(driver).size());
            AgxDevice gpu = driver.device(TestBed.ADDRESS).orElseThrow();
            GpuBuffer b = gpu.allocate(4096);
            assertTrue(b.gpuAddress() >= 1L << 32, "GPU VAs start at 4 GiB");
            TestBed.awaitOk(gpu.submit(ComputeJob.fill(b, 8)));
            bus.unregister(driver);
            assertEquals(AgxDevice.State.CLOSED, gpu.state());
            assertFalse(b.isOpen(), "the device closed the buffer the user left open");
            b.close(); // closing it afterwards is harmless
            assertThrows(IllegalStateException.class, () -> gpu.allocate(4096));
        }
        assertEquals(before, DmaPool.liveBuffersGlobally());
    }

    @Test
    void aFirmwareThatNeverBootsFailsTheProbeAndLeaksNothing() {
        long before = DmaPool.liveBuffersGlobally();
        MockPciBus mock = new MockPciBus().add(TestBed.ADDRESS, new AgxFirmware(), MockPciBus.Mode.STEPPED);
        try (PciBus bus = PciBus.open(mock)) {
            AgxOptions options = AgxOptions.builder().bootTimeout(Duration.ofMillis(100)).build();
            PciProbeException e = assertThrows(PciProbeException.class,
                    () -> AgxDevice.open(bus, TestBed.ADDRESS, options));
            GpuException cause = assertInstanceOf(GpuException.class, e.getCause());
            assertTrue(cause.getMessage().contains("did not report READY within PT0.1S"), cause.getMessage());
            assertTrue(bus.driverOf(bus.device(TestBed.ADDRESS).orElseThrow()).isEmpty());
        }
        assertEquals(before, DmaPool.liveBuffersGlobally());
    }

    @Test
    void surpriseRemovalFailsPendingJobs() throws Exception {
        long before = DmaPool.liveBuffersGlobally();
        MockPciBus mock = new MockPciBus().add(TestBed.ADDRESS.toString(), new AgxFirmware());
        Fence f;
        AgxDevice gpu;
        try (PciBus bus = PciBus.open(mock)) {
            gpu = AgxDevice.open(bus, TestBed.ADDRESS, AgxOptions.defaults());
            GpuBuffer b = gpu.allocate(4096);
            ((AgxFirmware) mock.model(TestBed.ADDRESS)).pause();
            f = gpu.submit(ComputeJob.fill(b, 1));
            mock.surpriseRemove(TestBed.ADDRESS);
            assertEquals(AgxDevice.State.CLOSED, gpu.state());
        }
        GpuException e = assertThrows(GpuException.class, () -> f.await(TestBed.WAIT));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertEquals(before, DmaPool.liveBuffersGlobally());
    }

    @Test
    void closeIsIdempotentAndQueuesRefuseWorkAfterwards() throws Exception {
        TestBed t = TestBed.threaded();
        ComputeQueue q;
        GpuBuffer b;
        try {
            q = t.gpu.createQueue();
            b = t.gpu.allocate(4096);
            TestBed.awaitOk(q.submit(ComputeJob.fill(b, 1)));
        } finally {
            t.close();
        }
        t.gpu.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> q.submit(ComputeJob.fill(b, 1)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        q.close();
    }
}
