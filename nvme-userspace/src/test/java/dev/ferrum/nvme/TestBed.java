package dev.ferrum.nvme;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.nvme.mock.MockNvmeController;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * A mock NVMe controller on a mock PCI bus with the driver attached, and short timeouts so fault tests finish
 * quickly. Closing checks that nothing leaked: no DMA buffer stays alive.
 */
final class TestBed implements AutoCloseable {
    static final PciAddress ADDRESS = PciAddress.parse("0000:00:04.0");

    final MockPciBus mockBus;
    final MockNvmeController mock;
    final PciBus bus;
    final NvmeController ctrl;
    private final long buffersBefore;

    TestBed(MockNvmeController.Config config, UnaryOperator<NvmeOptions.Builder> options) {
        this.buffersBefore = DmaPool.liveBuffersGlobally();
        this.mock = new MockNvmeController(config);
        this.mockBus = new MockPciBus().add(ADDRESS, mock, MockPciBus.Mode.THREADED);
        this.bus = PciBus.open(mockBus);
        try {
            this.ctrl = NvmeController.attach(bus, ADDRESS, options.apply(shortTimeouts()).build());
        } catch (RuntimeException e) {
            bus.close();
            throw e;
        }
    }

    TestBed(MockNvmeController.Config config) {
        this(config, b -> b);
    }

    TestBed() {
        this(config(512).build());
    }

    static NvmeOptions.Builder shortTimeouts() {
        return NvmeOptions.builder().commandTimeout(Duration.ofMillis(800)).abortTimeout(Duration.ofMillis(400))
                .adminTimeout(Duration.ofSeconds(5)).watchdogPeriod(Duration.ofMillis(20));
    }

    static MockNvmeController.Config.Builder config(int lbaSize) {
        return MockNvmeController.Config.builder().namespace(64L * 1024 * 1024 / lbaSize, lbaSize).mdts(5);
    }

    Namespace ns() {
        return ctrl.namespace(1);
    }

    DmaBuffer buffer(long bytes) {
        return ctrl.dmaPool().allocate(bytes);
    }

    static void fill(MemorySegment s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (long off = 0; off + 8 <= s.byteSize(); off += 8) {
            s.set(ValueLayout.JAVA_LONG, off, r.nextLong());
        }
    }

    @Override
    public void close() {
        try {
            ctrl.close();
        } finally {
            bus.close();
        }
        long live = DmaPool.liveBuffersGlobally() - buffersBefore;
        if (live != 0) {
            throw new AssertionError(live + " DMA buffer(s) leaked by the test");
        }
    }
}
