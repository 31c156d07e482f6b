package dev.ferrum.driver.mock;

import dev.ferrum.driver.pci.DeviceGoneException;
import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.RevokedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MockBackendTest {
    static final PciAddress A = PciAddress.parse("0000:01:00.0");
    static final Duration WAIT = Duration.ofSeconds(10);
    private PciBus bus;

    private EchoDriver bind(MockPciBus mock) {
        bus = PciBus.open(mock);
        EchoDriver driver = new EchoDriver();
        bus.bind(driver, bus.device(A).orElseThrow());
        return driver;
    }

    @AfterEach
    void close() {
        if (bus != null) {
            bus.close();
        }
    }

    private static void awaitCompleted(EchoDriver d, int seq) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (d.regs.read32(EchoDevice.COMPLETED) != seq) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("device did not complete " + seq);
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void threadedDeviceDoesDmaAndRaisesTheInterrupt() throws Exception {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice());
        EchoDriver d = bind(mock);
        List<InterruptVector> vectors = d.device.enableMsix(2);
        AtomicInteger handled = new AtomicInteger();
        CountDownLatch once = new CountDownLatch(1);
        vectors.get(0).setHandler(() -> {
            handled.incrementAndGet();
            once.countDown();
        });
        d.buffer.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 41);
        d.buffer.segment().set(ValueLayout.JAVA_BYTE, 99, (byte) -1);
        int seq = d.ring(100);
        assertTrue(once.await(10, TimeUnit.SECONDS), "the handler ran");
        assertEquals(seq, d.regs.read32(EchoDevice.COMPLETED));
        assertEquals(42, d.buffer.segment().get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(0, d.buffer.segment().get(ValueLayout.JAVA_BYTE, 99));
        assertEquals(1, d.buffer.segment().get(ValueLayout.JAVA_BYTE, 50), "every byte of the range was echoed");
        assertEquals(0, d.buffer.segment().get(ValueLayout.JAVA_BYTE, 100), "nothing beyond it");
        assertEquals(1, vectors.get(0).total());
        assertEquals(1, vectors.get(0).take(), "pollable count as well as the callback");
        assertEquals(0, vectors.get(1).total());
        assertTrue(mock.iommu(A).faults().isEmpty());
    }

    @Test
    void steppedDeviceMovesOnlyWhenStepped() throws Exception {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        EchoDriver d = bind(mock);
        InterruptVector v0 = d.device.enableMsix(1).getFirst();
        int seq = d.ring(8);
        assertEquals(0, d.regs.read32(EchoDevice.COMPLETED), "nothing happens without a step");
        DeviceModel model = mock.model(A);
        assertEquals(1, model.stepUntilIdle(10));
        assertEquals(seq, d.regs.read32(EchoDevice.COMPLETED));
        assertEquals(1, v0.await(WAIT), "interrupt delivered through the eventfd");
        assertEquals(1, d.buffer.segment().get(ValueLayout.JAVA_BYTE, 7));
        MockPciBus threaded = new MockPciBus().add("0000:05:00.0", new EchoDevice());
        try {
            assertThrows(IllegalStateException.class, () -> threaded.model(PciAddress.parse("0000:05:00.0")).step(),
                    "a threaded model cannot be stepped");
        } finally {
            threaded.close();
        }
    }

    @Test
    void dmaToAnUnmappedAddressIsBlockedAndRecorded() {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        EchoDriver d = bind(mock);
        d.regs.write64(EchoDevice.DMA_ADDR, 0x7000_0000L); // never mapped
        d.regs.write32(EchoDevice.DMA_LEN, 16);
        d.regs.write32(EchoDevice.DOORBELL, 1);
        mock.model(A).step();
        assertEquals(EchoDevice.STATUS_ERROR, d.regs.read32(EchoDevice.STATUS) & EchoDevice.STATUS_ERROR);
        List<IommuFault> faults = mock.iommu(A).faults();
        assertEquals(List.of(new IommuFault(0x7000_0000L, 16, false, "not mapped")), faults);
    }

    @Test
    void dmaToAFreedBufferIsBlocked() {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        EchoDriver d = bind(mock);
        DmaBuffer stale = d.device.dmaPool().allocate(4096);
        long iova = stale.deviceAddress();
        stale.close();
        assertFalse(mock.iommu(A).isMapped(iova));
        d.regs.write64(EchoDevice.DMA_ADDR, iova);
        d.regs.write32(EchoDevice.DMA_LEN, 16);
        d.regs.write32(EchoDevice.DOORBELL, 1);
        mock.model(A).step();
        assertEquals(1, mock.iommu(A).faults().size());
        assertEquals(iova, mock.iommu(A).faults().getFirst().deviceAddress());
    }

    @Test
    void dmaCrossingTheEndOfABufferIsBlocked() {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        EchoDriver d = bind(mock);
        d.regs.write64(EchoDevice.DMA_ADDR, d.buffer.deviceAddress() + 4000);
        d.regs.write32(EchoDevice.DMA_LEN, 200);
        d.regs.write32(EchoDevice.DOORBELL, 1);
        mock.model(A).step();
        assertEquals("crosses the end of its mapping", mock.iommu(A).faults().getFirst().reason());
        assertEquals(0, d.buffer.segment().get(ValueLayout.JAVA_BYTE, 4000), "nothing was written");
    }

    @Test
    void dmaWithoutBusMasteringIsBlocked() {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        EchoDriver d = bind(mock);
        d.device.setBusMaster(false);
        d.ring(16);
        mock.model(A).step();
        assertTrue(mock.iommu(A).faults().getFirst().reason().contains("bus mastering is disabled"));
        assertEquals(0, d.buffer.segment().get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void droppedAndInjectedInterrupts() throws Exception {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        EchoDriver d = bind(mock);
        InterruptVector v0 = d.device.enableMsix(2).getFirst();
        mock.dropInterrupts(A, 1);
        d.ring(1);
        mock.model(A).step();
        assertEquals(0, v0.await(Duration.ofMillis(200)), "the interrupt was lost");
        d.ring(1);
        mock.model(A).step();
        assertEquals(1, v0.await(WAIT), "the next one arrives");
        mock.injectInterrupt(A, 1);
        assertEquals(1, d.device.msixVectors().get(1).await(WAIT), "a spurious interrupt on vector 1");
    }

    @Test
    void msixLimitsAndDisable() throws Exception {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        EchoDriver d = bind(mock);
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class, () -> d.device.enableMsix(3));
        assertTrue(tooMany.getMessage().contains("supports 1..2"), tooMany.getMessage());
        int control = d.device.capability(PciConfig.CAP_MSIX).orElseThrow().offset() + PciConfig.MSIX_MESSAGE_CONTROL;
        d.device.enableMsix(1);
        assertTrue((d.device.configRead16(control) & PciConfig.MSIX_CONTROL_ENABLE) != 0, "MSI-X enable bit set");
        assertThrows(IllegalStateException.class, () -> d.device.enableMsix(1));
        AtomicInteger writes = new AtomicInteger();
        ((MockFunction) mock.functions().getFirst()).probe = new MockFunction.InterruptProbe() {
            @Override
            public void writing(int fd) {
                writes.incrementAndGet();
            }

            @Override
            public void detached(int[] fds) {}
        };
        d.device.disableMsix();
        assertTrue(d.device.msixVectors().isEmpty());
        assertEquals(0, d.device.configRead16(control) & PciConfig.MSIX_CONTROL_ENABLE, "MSI-X enable bit cleared");
        d.ring(1);
        assertEquals(1, mock.model(A).stepUntilIdle(10), "the device completed the request");
        assertEquals(0, writes.get(), "the device raised no interrupt after disable");
        InterruptVector again = d.device.enableMsix(1).getFirst();
        d.ring(1);
        mock.model(A).step();
        assertEquals(1, writes.get(), "enabled again, the device raises its interrupt");
        assertEquals(1, again.await(WAIT));
    }

    @Test
    void surpriseRemovalRevokesBarsWhileTheDriverIsUsingThem() throws Exception {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice());
        EchoDriver d = bind(mock);
        PciDevice device = d.device;
        var pool = Executors.newSingleThreadExecutor();
        CountDownLatch reading = new CountDownLatch(1);
        Future<Integer> reader = pool.submit(() -> {
            int reads = 0;
            while (true) {
                d.regs.read32(EchoDevice.ID); // throws once revoked
                reads++;
                reading.countDown();
            }
        });
        assertTrue(reading.await(10, TimeUnit.SECONDS));
        mock.surpriseRemove(A);
        ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(10, TimeUnit.SECONDS));
        assertInstanceOf(RevokedException.class, e.getCause());
        pool.shutdown();
        assertEquals(List.of("probe " + A, "remove " + A), d.events);
        assertFalse(device.isPresent());
        assertTrue(bus.devices().isEmpty());
        DeviceGoneException gone = assertThrows(DeviceGoneException.class, () -> device.configRead16(0));
        assertTrue(gone.getMessage().contains("has been removed"), gone.getMessage());
        assertThrows(DeviceGoneException.class, () -> device.bar(0));
        assertFalse(d.buffer.isAlive(), "DMA memory released after remove");
    }

    @Test
    void orderlyRemovalLetsTheDriverTalkToTheDeviceThenReleasesEverything() {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice());
        EchoDriver d = bind(mock);
        PciDevice device = d.device;
        var bar = device.bar(0);
        mock.remove(A);
        assertEquals(List.of("probe " + A, "remove " + A), d.events);
        assertEquals(Integer.toUnsignedLong(EchoDevice.ID_VALUE), d.idSeenByRemove, "remove ran while the registers still answered");
        assertTrue(bar.isRevoked(), "the BAR is revoked once remove has returned");
        assertThrows(RevokedException.class, () -> d.regs.read32(EchoDevice.ID));
        assertFalse(d.buffer.isAlive(), "DMA memory released");
        assertFalse(device.isPresent());
        assertTrue(bus.devices().isEmpty());
        assertTrue(mock.functions().isEmpty(), "the backend forgot the function");
        assertThrows(java.util.NoSuchElementException.class, () -> mock.remove(A), "a second removal");

        // The slot can be filled again: a hot-add probes the registered driver on the new function.
        bus.unregister(d);
        EchoDriver again = new EchoDriver();
        assertTrue(bus.register(again).isEmpty(), "nothing to bind yet");
        mock.add(A.toString(), new EchoDevice());
        assertEquals(List.of("probe " + A), again.events);
        assertEquals(EchoDevice.ID_VALUE, again.regs.read32(EchoDevice.ID));
    }

    @Test
    void orderlyRemovalWithoutABusStopsTheModel() {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice());
        try {
            mock.remove(A);
            assertTrue(mock.functions().isEmpty());
        } finally {
            mock.close();
        }
    }
}
