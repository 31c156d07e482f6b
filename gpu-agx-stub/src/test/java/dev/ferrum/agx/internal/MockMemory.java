package dev.ferrum.agx.internal;

import dev.ferrum.agx.firmware.AgxFirmware;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.driver.mock.MockIommu;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * DMA memory behind a mock IOMMU, without a driver: a pool to allocate from, the device's view of any device
 * address, and a register window for doorbells.
 */
final class MockMemory implements AutoCloseable {
    private static final PciAddress ADDRESS = PciAddress.parse("0000:0b:00.0");

    final MockPciBus mock = new MockPciBus().add(ADDRESS, new AgxFirmware(), MockPciBus.Mode.STEPPED);
    final MockIommu iommu = mock.iommu(ADDRESS);
    final DmaPool pool = DmaPool.builder(iommu).name("test").memoryLock(DmaPool.MemoryLock.BEST_EFFORT).build();
    private final Arena arena = Arena.ofConfined();
    final MemorySegment registerMemory = arena.allocate(0x4000, 4096);
    final Mmio regs = Mmio.of(registerMemory, "test registers");

    /** {@return the device's view of {@code [iova, iova + length)}} */
    MemorySegment view(long iova, long length) {
        return iommu.translate(iova, length, true);
    }

    long u64(long iova) {
        return (long) Le.LONG.get(view(iova, 8), 0L);
    }

    int u32(long iova) {
        return (int) Le.INT.get(view(iova, 4), 0L);
    }

    void setU32(long iova, int value) {
        Le.INT.setRelease(view(iova, 4), 0L, value);
    }

    @Override
    public void close() {
        pool.close();
        mock.close();
        arena.close();
    }
}
