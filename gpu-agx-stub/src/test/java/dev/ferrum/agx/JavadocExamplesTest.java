package dev.ferrum.agx;

import dev.ferrum.agx.firmware.AgxFirmware;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The examples of the {@code dev.ferrum.agx} and {@code dev.ferrum.agx.firmware} Javadoc, compiled and run. */
class JavadocExamplesTest {

    @Test
    void saxpyOnTheSimulatedGpu() throws Exception {
        float[] result;
        // @start region="saxpy"
        try (PciBus bus = PciBus.open(new MockPciBus().add("0000:01:00.0", new AgxFirmware()));
             AgxDevice gpu = AgxDevice.open(bus, PciAddress.parse("0000:01:00.0"), AgxOptions.defaults());
             GpuBuffer x = gpu.allocate(4096);
             GpuBuffer y = gpu.allocate(4096)) {
            x.write(0, new float[] {1, 2, 3});
            y.write(0, new float[] {10, 20, 30});
            Fence done = gpu.submit(ComputeJob.saxpy(2f, x, y, 3));   // y = 2 * x + y, on the GPU
            if (!done.await(Duration.ofSeconds(5))) {
                throw new IllegalStateException("the GPU did not finish in time");
            }
            result = y.readFloats(0, 3);                                // {12, 24, 36}
        }
        // @end
        assertArrayEquals(new float[] {12, 24, 36}, result);
    }

    @Test
    void firmwareFaultInjection() throws Exception {
        // @start region="firmware"
        AgxFirmware firmware = new AgxFirmware();
        try (PciBus bus = PciBus.open(new MockPciBus().add("0000:01:00.0", firmware));
             AgxDevice gpu = AgxDevice.open(bus, PciAddress.parse("0000:01:00.0"), AgxOptions.defaults());
             GpuBuffer b = gpu.allocate(4096)) {
            firmware.pause();                                           // jobs queue up, none runs
            Fence pending = gpu.submit(ComputeJob.fill(b, 1));
            firmware.crash();                                           // every pending job fails, none hangs
            FirmwareCrashedException e = assertThrows(FirmwareCrashedException.class,
                    () -> pending.await(Duration.ofSeconds(5)));
            System.out.println(e.getMessage());
        }
        // @end
        assertTrue(firmware.config() != null);
    }
}
