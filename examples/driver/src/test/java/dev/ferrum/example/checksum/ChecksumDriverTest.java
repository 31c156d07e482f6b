package dev.ferrum.example.checksum;

import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.DeviceModel;
import dev.ferrum.driver.mock.IommuFault;
import dev.ferrum.driver.mock.MockIommu;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.DeviceGoneException;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciProbeException;
import dev.ferrum.example.checksum.model.ChecksumAccelerator;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.Mmio;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver-writing guide's example, run: the CSUM-1 driver against its model on the mock PCI bus. The code the
 * guide shows from this class is marked with {@code @start region=...}; {@link GuideSnippetsTest} checks that the
 * guide shows exactly that code.
 */
class ChecksumDriverTest {
    static final PciAddress A = PciAddress.parse("0000:01:00.0");
    static final long WAIT = 10;
    static final byte[] TEXT = "Hello, device!".getBytes(StandardCharsets.US_ASCII);

    private MockPciBus mock;
    private ChecksumAccelerator model;
    private PciBus bus;
    private ChecksumDriver driver;
    private ChecksumEngine engine;

    /** A bus with one CSUM-1 at {@link #A}, the driver bound to it. */
    private void bind(ChecksumDriver d) {
        model = new ChecksumAccelerator();
        mock = new MockPciBus().add(A.toString(), model);
        bus = PciBus.open(mock);
        driver = d;
        assertEquals(1, bus.register(driver).size(), "the driver bound to the accelerator");
        engine = driver.engine(A).orElseThrow();
    }

    @AfterEach
    void closeBus() {
        if (bus != null) {
            bus.close();
        }
    }

    static int crc32c(byte[] data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        return (int) crc.getValue();
    }

    /** {@return a slice of {@code buffer} holding {@code bytes}} */
    static DmaBuffer fill(DmaBuffer buffer, byte[] bytes) {
        DmaBuffer data = buffer.slice(0, bytes.length);
        MemorySegment.copy(bytes, 0, data.segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
        return data;
    }

    /** {@return a new buffer of {@code engine} holding {@code bytes}, sliced to their length} Freed at unbind. */
    static DmaBuffer filled(ChecksumEngine engine, byte[] bytes) {
        return fill(engine.allocate(bytes.length), bytes);
    }

    @Test
    void theGuideRuns() throws Exception {
        // @start region="usage"
        MockPciBus mock = new MockPciBus().add("0000:01:00.0", new ChecksumAccelerator());
        try (PciBus bus = PciBus.open(mock)) {
            ChecksumDriver driver = new ChecksumDriver();
            bus.register(driver);                               // probes every matching device
            ChecksumEngine engine = driver.engine(PciAddress.parse("0000:01:00.0")).orElseThrow();

            byte[] text = "Hello, device!".getBytes(StandardCharsets.US_ASCII);
            try (DmaBuffer buffer = engine.allocate(text.length)) {
                DmaBuffer data = buffer.slice(0, text.length);
                MemorySegment.copy(text, 0, data.segment(), ValueLayout.JAVA_BYTE, 0, text.length);
                int crc = engine.crc32c(data).get(10, TimeUnit.SECONDS);
                assertEquals(crc32c(text), crc);
            }
        }                                                       // remove(), then every resource is released
        // @end
    }

    @Test
    void jobsFromManyThreadsWrapTheRingManyTimes() throws Exception {
        bind(new ChecksumDriver());
        int threads = 4;
        int jobsPerThread = 160;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = t;
                workers.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    int checked = 0;
                    for (int batch = 0; batch < jobsPerThread / 8; batch++) {
                        List<byte[]> inputs = new ArrayList<>();
                        List<DmaBuffer> buffers = new ArrayList<>();
                        List<CompletableFuture<Integer>> jobs = new ArrayList<>();
                        for (int j = 0; j < 8; j++) { // 4 threads x 8: never more than half the ring in flight
                            byte[] input = new byte[1 + random.nextInt(9000)];
                            random.nextBytes(input);
                            DmaBuffer buffer = engine.allocate(input.length);
                            inputs.add(input);
                            buffers.add(buffer);
                            jobs.add(engine.crc32c(fill(buffer, input)));
                        }
                        for (int j = 0; j < 8; j++) {
                            assertEquals(crc32c(inputs.get(j)), jobs.get(j).get(WAIT, TimeUnit.SECONDS));
                            assertEquals(0, buffers.get(j).pinCount(), "unpinned once the job completed");
                            buffers.get(j).close();
                            checked++;
                        }
                    }
                    return checked;
                }));
            }
            int total = 0;
            for (Future<Integer> w : workers) {
                total += w.get(60, TimeUnit.SECONDS);
            }
            assertEquals(threads * jobsPerThread, total);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, engine.inFlight());
        assertTrue(threads * jobsPerThread >= 10 * engine.ringSize(), "the ring wrapped around many times");
        assertTrue(mock.iommu(A).faults().isEmpty());
    }

    @Test
    void aFullRingRefusesTheNextJobUntilOneCompletes() throws Exception {
        bind(new ChecksumDriver());
        model.stall(true);
        DmaBuffer data = filled(engine, TEXT);
        List<CompletableFuture<Integer>> jobs = new ArrayList<>();
        for (int i = 0; i < engine.ringSize(); i++) {
            jobs.add(engine.crc32c(data));
        }
        assertEquals(engine.ringSize(), data.pinCount(), "one pin per job in flight");
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> engine.crc32c(data));
        assertTrue(full.getMessage().contains("the ring is full (64 jobs in flight)"), full.getMessage());
        model.stall(false);
        for (CompletableFuture<Integer> job : jobs) {
            assertEquals(crc32c(TEXT), job.get(WAIT, TimeUnit.SECONDS));
        }
        assertEquals(crc32c(TEXT), engine.crc32c(data).get(WAIT, TimeUnit.SECONDS));
    }

    @Test
    void aPinnedBufferCannotBeFreedWhileTheDeviceMayReadIt() throws Exception {
        bind(new ChecksumDriver());
        model.stall(true);
        DmaBuffer buffer = engine.allocate(4096);
        CompletableFuture<Integer> job = engine.crc32c(buffer);
        IllegalStateException e = assertThrows(IllegalStateException.class, buffer::close);
        assertTrue(e.getMessage().contains("pinned by 1 in-flight device operation"), e.getMessage());
        model.stall(false);
        assertEquals(crc32c(new byte[4096]), job.get(WAIT, TimeUnit.SECONDS));
        buffer.close();
        assertFalse(buffer.isAlive());
    }

    @Test
    void badInputIsRefusedWithTheReason() throws Exception {
        bind(new ChecksumDriver());
        assertThrows(NullPointerException.class, () -> engine.crc32c(null));

        DmaBuffer closed = engine.allocate(4096);
        closed.close();
        IllegalStateException useAfterFree = assertThrows(IllegalStateException.class, () -> engine.crc32c(closed));
        assertTrue(useAfterFree.getMessage().contains("use after free"), useAfterFree.getMessage());
        assertEquals(0, engine.inFlight(), "a refused job leaves nothing behind");

        DmaBuffer tooLong = engine.allocate(engine.maxLength() + 1L);
        IllegalArgumentException limit = assertThrows(IllegalArgumentException.class, () -> engine.crc32c(tooLong));
        assertTrue(limit.getMessage().contains("exceeds the limit of " + A + ", 1048576 bytes"), limit.getMessage());

        try (PciBus otherBus = PciBus.open(new MockPciBus().add("0000:02:00.0", new ChecksumAccelerator()))) {
            PciDevice other = otherBus.device(PciAddress.parse("0000:02:00.0")).orElseThrow();
            DmaBuffer foreign = other.dmaPool().allocate(4096);
            IllegalArgumentException wrongPool = assertThrows(IllegalArgumentException.class,
                    () -> engine.crc32c(foreign));
            assertTrue(wrongPool.getMessage().contains("is not from the DMA pool of " + A), wrongPool.getMessage());
            foreign.close();
        }
        assertEquals(crc32c(TEXT), engine.crc32c(filled(engine, TEXT)).get(WAIT, TimeUnit.SECONDS));
    }

    @Test
    void anIommuFaultFailsOnlyThatJob() throws Exception {
        bind(new ChecksumDriver());
        DmaBuffer data = filled(engine, TEXT);
        // @start region="iommu-fault"
        model.corruptDataAddresses(1);                          // the device misreads the next data address
        CompletableFuture<Integer> bad = engine.crc32c(data);
        ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
        ChecksumException failed = assertInstanceOf(ChecksumException.class, e.getCause());
        assertEquals(3, failed.code());                         // DMA_FAULT: the IOMMU blocked the read

        IommuFault fault = mock.iommu(A).faults().getFirst();   // ... and recorded it
        assertEquals("not mapped", fault.reason());
        assertEquals(data.deviceAddress() ^ (1L << 39), fault.deviceAddress());
        assertEquals(crc32c(TEXT), engine.crc32c(data).get(10, TimeUnit.SECONDS)); // the next job is fine
        // @end
        assertTrue(failed.getMessage().contains("DMA_FAULT"), failed.getMessage());
        Mmio regs = bus.device(A).orElseThrow().bar(0).get().mmio();
        assertTrue(ChecksumRegisters.STATUS_FAULT.isSet(ChecksumRegisters.STATUS.read(regs)), "STATUS.FAULT is set");
        assertEquals(1, mock.iommu(A).faults().size());
    }

    @Test
    void aLostInterruptDelaysTheJobButDoesNotLoseIt() throws Exception {
        bind(new ChecksumDriver());
        DmaBuffer data = filled(engine, TEXT);
        // @start region="lost-interrupt"
        mock.dropInterrupts(A, Integer.MAX_VALUE);              // from now on, no interrupt reaches the driver
        for (int i = 0; i < 3; i++) {                           // the watchdog reaps each job by polling
            assertEquals(crc32c(TEXT), engine.crc32c(data).get(10, TimeUnit.SECONDS));
        }
        // @end
        assertEquals(0, engine.inFlight());
        assertEquals(0, data.pinCount(), "the polled completions unpinned their buffers");
        mock.dropInterrupts(A, 0);                              // interrupts again: the usual path still works
        assertEquals(crc32c(TEXT), engine.crc32c(data).get(WAIT, TimeUnit.SECONDS));
    }

    @Test
    void withoutInterruptsJobsSubmittedWhileOthersAreInFlightAreStillReaped() throws Exception {
        bind(new ChecksumDriver());
        DmaBuffer data = filled(engine, TEXT);
        mock.dropInterrupts(A, Integer.MAX_VALUE);
        model.stall(true);                                      // the ring stays non-empty across the submissions
        List<CompletableFuture<Integer>> jobs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {                           // only the first one arms the watchdog
            jobs.add(engine.crc32c(data));
        }
        Thread.sleep(3 * ChecksumEngine.WATCHDOG_PERIOD.toMillis()); // it runs, finds nothing done, re-arms itself
        model.stall(false);
        for (CompletableFuture<Integer> job : jobs) {           // its later runs reap them all
            assertEquals(crc32c(TEXT), job.get(10, TimeUnit.SECONDS));
        }
        assertEquals(0, engine.inFlight());
        for (int i = 0; i < 2; i++) {                           // an emptied ring refilled: armed again
            assertEquals(crc32c(TEXT), engine.crc32c(data).get(10, TimeUnit.SECONDS));
        }
        assertEquals(0, data.pinCount());
    }

    @Test
    void surpriseRemovalFailsTheJobsInFlightAndReleasesEverything() throws Exception {
        bind(new ChecksumDriver());
        MockIommu iommu = mock.iommu(A);
        DmaBuffer data = filled(engine, TEXT);
        // @start region="surprise-removal"
        model.stall(true);                                      // keep the job in flight
        CompletableFuture<Integer> job = engine.crc32c(data);
        mock.surpriseRemove(A);                                 // BAR revoked at once, then remove() runs
        ExecutionException e = assertThrows(ExecutionException.class, () -> job.get(10, TimeUnit.SECONDS));
        assertInstanceOf(DeviceGoneException.class, e.getCause());
        assertFalse(data.isAlive());                            // the bus freed the DMA memory after remove()
        assertEquals(0, iommu.mappingCount());                  // ... and unmapped it from the device
        // @end
        assertTrue(e.getCause().getMessage().contains(A + " was removed before completing the job"),
                e.getCause().getMessage());
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> engine.crc32c(data));
        assertTrue(refused.getMessage().contains("was removed: it accepts no more jobs"), refused.getMessage());
        assertThrows(DeviceGoneException.class, () -> engine.allocate(4096));
        assertTrue(driver.engines().isEmpty());
        assertTrue(bus.devices().isEmpty());
    }

    @Test
    void unbindStopsTheDeviceReleasesEverythingAndTheDriverCanBindAgain() throws Exception {
        bind(new ChecksumDriver());
        DmaBuffer data = filled(engine, TEXT);
        assertEquals(crc32c(TEXT), engine.crc32c(data).get(WAIT, TimeUnit.SECONDS));
        PciDevice device = bus.device(A).orElseThrow();
        Mmio regs = device.bar(0).get().mmio();
        bus.unbind(device);
        assertFalse(regs.isAccessible(), "BAR0 was unmapped");
        assertFalse(data.isAlive(), "DMA memory freed");
        assertEquals(0, mock.iommu(A).mappingCount());
        assertTrue(device.msixVectors().isEmpty(), "MSI-X disabled");
        assertTrue(driver.engine(A).isEmpty());

        bus.bind(driver, device);
        ChecksumEngine again = driver.engine(A).orElseThrow();
        assertEquals(crc32c(TEXT), again.crc32c(filled(again, TEXT)).get(WAIT, TimeUnit.SECONDS));
    }

    @Test
    void aHaltedDeviceFailsItsJobsAndTheEngineStops() throws Exception {
        bind(new ChecksumDriver());
        model.stall(true);
        DmaBuffer data = filled(engine, TEXT);
        CompletableFuture<Integer> first = engine.crc32c(data);
        CompletableFuture<Integer> second = engine.crc32c(data);
        // A stray doorbell value (a driver bug, or a test bypassing the driver) claims 1000 descriptors.
        Mmio regs = bus.device(A).orElseThrow().bar(0).get().mmio();
        ChecksumRegisters.DOORBELL.write(regs, 1000);
        model.stall(false);
        for (CompletableFuture<Integer> job : List.of(first, second)) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> job.get(WAIT, TimeUnit.SECONDS));
            ChecksumException halted = assertInstanceOf(ChecksumException.class, e.getCause());
            assertTrue(halted.getMessage().contains("HALTED 1") && halted.getMessage().contains("BAD_DOORBELL"),
                    halted.getMessage());
        }
        assertEquals(0, data.pinCount(), "a halted device does no DMA: the buffers are released");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> engine.crc32c(data));
        assertTrue(refused.getMessage().contains("halted"), refused.getMessage());
    }

    @Test
    void aDeviceThatDoesNotStopKeepsTheBuffersOfItsJobsPinned() throws Exception {
        bind(new ChecksumDriver(Duration.ofMillis(200)));
        model.stall(true);
        model.ignoreDisable(true);
        DmaBuffer buffer = engine.allocate(4096);
        CompletableFuture<Integer> job = engine.crc32c(buffer);
        bus.unbind(bus.device(A).orElseThrow());
        ExecutionException e = assertThrows(ExecutionException.class, () -> job.get(WAIT, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("the device did not stop, so its buffer stays pinned"),
                e.getCause().getMessage());
        assertTrue(buffer.isAlive(), "never freed while the device may still read it");
        assertEquals(1, buffer.pinCount());
        assertEquals(1, mock.iommu(A).mappingCount(), "still mapped: the device reads the memory, nothing else");
        // The test's own clean-up (a driver never does this): the device stops, the buffer can go.
        model.ignoreDisable(false);
        buffer.unpin();
        buffer.close();
        assertEquals(0, mock.iommu(A).mappingCount());
    }

    @Test
    void probeRefusesADeviceThatIsNotACsum1AndReleasesWhatItTook() {
        DeviceModel impostor = new DeviceModel(DeviceConfig.builder(ChecksumAccelerator.VENDOR_ID,
                ChecksumAccelerator.DEVICE_ID, ChecksumAccelerator.CLASS_CODE).bar(0, 0x1000).msix(1, 0, 0x800, 0xc00)
                .build()) {
            @Override
            protected boolean process() {
                return false;
            }

            @Override
            protected void reset() {
            }
        };
        mock = new MockPciBus().add(A.toString(), impostor);
        bus = PciBus.open(mock);
        PciDevice device = bus.device(A).orElseThrow();
        PciProbeException e = assertThrows(PciProbeException.class, () -> bus.bind(new ChecksumDriver(), device));
        assertTrue(e.getMessage().contains("is not a CSUM-1: its ID register reads 0x0, MAGIC should be 0x4353"),
                e.getMessage());
        assertTrue(bus.driverOf(device).isEmpty());
        assertEquals(0, mock.iommu(A).mappingCount());
    }
}
