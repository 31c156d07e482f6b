package dev.ferrum.driver.pci;

import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.EchoDevice;
import dev.ferrum.driver.mock.EchoDriver;
import dev.ferrum.driver.mock.MockIommu;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.RevokedException;
import dev.ferrum.memory.internal.LiveResources;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PciBusTest {
    static final PciAddress A = PciAddress.parse("0000:01:00.0");
    static final PciAddress B = PciAddress.parse("0000:02:00.0");

    @Test
    void registerProbesMatchingDevicesAndCloseRemovesThemOnce() {
        long buffersBefore = DmaPool.liveBuffersGlobally();
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice())
                .add(B.toString(), new EchoDevice(DeviceConfig.builder(0x8086, 0x1234, 0x020000).bar(0, 4096).build()));
        EchoDriver driver = new EchoDriver();
        Mmio regs;
        try (PciBus bus = PciBus.open(mock)) {
            assertEquals(List.of(A, B), bus.devices().stream().map(PciDevice::address).toList());
            List<PciDevice> bound = bus.register(driver);
            assertEquals(List.of(A), bound.stream().map(PciDevice::address).toList(), "only the matching device");
            assertSame(driver, bus.driverOf(bound.getFirst()).orElseThrow());
            assertTrue(bus.driverOf(bus.device(B).orElseThrow()).isEmpty());
            regs = driver.regs;
            assertEquals(EchoDevice.ID_VALUE, regs.read32(EchoDevice.ID));
            assertEquals(buffersBefore + 1, DmaPool.liveBuffersGlobally());
        }
        assertEquals(List.of("probe " + A, "remove " + A), driver.events);
        assertThrows(RevokedException.class, () -> regs.read32(EchoDevice.ID), "BAR revoked after unbind");
        assertFalse(driver.buffer.isAlive(), "the device's DMA pool was closed");
        assertEquals(buffersBefore, DmaPool.liveBuffersGlobally());
    }

    @Test
    void failedProbeReleasesWhatTheDriverAcquiredAndLeavesTheDeviceUnbound() {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice());
        EchoDriver driver = new EchoDriver();
        driver.failProbe = new IllegalStateException("firmware too old");
        try (PciBus bus = PciBus.open(mock)) {
            assertTrue(bus.register(driver).isEmpty());
            assertThrows(RevokedException.class, () -> driver.regs.read32(0L));
            assertFalse(driver.buffer.isAlive());
            PciDevice d = bus.device(A).orElseThrow();
            assertTrue(bus.driverOf(d).isEmpty());
            PciProbeException e = assertThrows(PciProbeException.class, () -> bus.bind(driver, d));
            assertTrue(e.getMessage().contains("probe of 0000:01:00.0 [1de5:ec40] class ff0000 by echo failed: "
                    + "firmware too old"), e.getMessage());
            assertInstanceOf(IllegalStateException.class, e.getCause());
            driver.failProbe = null;
            bus.bind(driver, d);
            assertEquals(EchoDevice.ID_VALUE, driver.regs.read32(EchoDevice.ID), "a new binding maps the BAR again");
        }
        assertEquals(List.of("probe " + A, "probe " + A, "probe " + A, "remove " + A), driver.events,
                "remove only for the successful probe");
    }

    @Test
    void bindRefusesDevicesOutsideTheIdTableAndDoubleBinding() {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice())
                .add(B.toString(), new EchoDevice(DeviceConfig.builder(0x8086, 0x1234, 0x020000).bar(0, 4096).build()));
        try (PciBus bus = PciBus.open(mock)) {
            EchoDriver driver = new EchoDriver();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bus.bind(driver, bus.device(B).orElseThrow()));
            assertTrue(e.getMessage().contains("is not in the ID table of driver echo"), e.getMessage());
            bus.bind(driver, bus.device(A).orElseThrow());
            IllegalStateException twice = assertThrows(IllegalStateException.class,
                    () -> bus.bind(new EchoDriver(), bus.device(A).orElseThrow()));
            assertTrue(twice.getMessage().contains("already bound to echo"), twice.getMessage());
            bus.unbind(bus.device(A).orElseThrow());
            assertEquals(List.of("probe " + A, "remove " + A), driver.events);
            bus.unbind(bus.device(A).orElseThrow()); // unbinding an unbound device does nothing
            assertEquals(2, driver.events.size());
        }
    }

    @Test
    void unregisterRemovesTheDriverFromItsDevices() {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice()).add(B.toString(), new EchoDevice());
        try (PciBus bus = PciBus.open(mock)) {
            EchoDriver driver = new EchoDriver();
            assertEquals(2, bus.register(driver).size());
            assertThrows(IllegalStateException.class, () -> bus.register(driver));
            bus.unregister(driver);
            assertEquals(List.of("probe " + A, "probe " + B, "remove " + A, "remove " + B), driver.events);
        }
    }

    @Test
    void hotAddedDeviceIsProbedByRegisteredDriver() {
        MockPciBus mock = new MockPciBus();
        try (PciBus bus = PciBus.open(mock)) {
            EchoDriver driver = new EchoDriver();
            assertTrue(bus.register(driver).isEmpty());
            mock.add(A.toString(), new EchoDevice());
            assertEquals(List.of("probe " + A), driver.events);
            assertTrue(bus.driverOf(bus.device(A).orElseThrow()).isPresent());
        }
    }

    @Test
    void deviceIdMatching() {
        DeviceId exact = DeviceId.of(0x1de5, 0xec40);
        DeviceId anyNvme = DeviceId.ofClass(PciConfig.CLASS_NVME, 0xffffff);
        DeviceId storage = DeviceId.ofClass(0x010000, 0xff0000);
        DeviceId sub = exact.withSubsystem(0x1de5, 0x0002);
        assertTrue(exact.matches(0x1de5, 0xec40, 0, 0, 0xff0000));
        assertFalse(exact.matches(0x1de5, 0xec41, 0, 0, 0xff0000));
        assertTrue(anyNvme.matches(0x1b36, 0x0010, 0x1af4, 0x1100, 0x010802));
        assertFalse(anyNvme.matches(0x1b36, 0x0010, 0x1af4, 0x1100, 0x010601), "AHCI is not NVMe");
        assertTrue(storage.matches(1, 2, 3, 4, 0x010601));
        assertFalse(sub.matches(0x1de5, 0xec40, 0x1de5, 0x0001, 0));
        assertTrue(sub.matches(0x1de5, 0xec40, 0x1de5, 0x0002, 0));
        assertThrows(IllegalArgumentException.class, () -> DeviceId.of(0x10000, 1));
        assertThrows(IllegalArgumentException.class, () -> DeviceId.ofClass(0x1000000, 0));
        assertEquals("DeviceId[*:* class 010802/ffffff]", anyNvme.toString());
    }

    @Test
    void pciAddressParsing() {
        assertEquals(new PciAddress(0, 1, 0, 0), PciAddress.parse("01:00.0"));
        assertEquals(new PciAddress(0x10, 0xaf, 0x1f, 7), PciAddress.parse("0010:af:1f.7"));
        assertEquals("0000:00:03.0", PciAddress.parse("0:0:3.0").toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("nvme0"));
        assertTrue(e.getMessage().contains("expected DDDD:BB:DD.F"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse("0000:00:20.0"));
        assertThrows(IllegalArgumentException.class, () -> PciAddress.parse(null));
    }

    @Test
    void nullArgumentsAreRefusedWithTheirName() {
        try (PciBus bus = PciBus.open(new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED))) {
            PciDevice d = bus.device(A).orElseThrow();
            EchoDriver driver = new EchoDriver();
            assertEquals("bind: driver is null", assertThrows(NullPointerException.class,
                    () -> bus.bind(null, d)).getMessage());
            assertEquals("bind: device is null", assertThrows(NullPointerException.class,
                    () -> bus.bind(driver, (PciDevice) null)).getMessage());
            assertEquals("bind: address is null", assertThrows(NullPointerException.class,
                    () -> bus.bind(driver, (PciAddress) null)).getMessage());
            assertEquals("unbind: device is null", assertThrows(NullPointerException.class,
                    () -> bus.unbind(null)).getMessage());
            assertEquals("unregister: driver is null", assertThrows(NullPointerException.class,
                    () -> bus.unregister(null)).getMessage());
            assertTrue(driver.events.isEmpty());
            assertTrue(bus.driverOf(d).isEmpty());
        }
    }

    @Test
    void closedBusRefusesWork() {
        PciBus bus = PciBus.open(new MockPciBus().add(A.toString(), new EchoDevice()));
        bus.close();
        bus.close();
        assertThrows(IllegalStateException.class, () -> bus.register(new EchoDriver()));
    }

    @Test
    void dmaBufferAllocatedThroughTheDeviceIsMappedInItsIommu() {
        MockPciBus mock = new MockPciBus().add(A.toString(), new EchoDevice());
        MockIommu iommu;
        long address;
        try (PciBus bus = PciBus.open(mock)) {
            EchoDriver driver = new EchoDriver();
            bus.register(driver);
            DmaBuffer b = driver.buffer;
            assertTrue(mock.iommu(A).isMapped(b.deviceAddress()));
            assertSame(mock.iommu(A), driver.device.addressSpace());
            iommu = mock.iommu(A);
            address = b.deviceAddress();
        }
        assertFalse(iommu.isMapped(address), "the buffer was unmapped when the bus closed");
        assertEquals(0, iommu.mappingCount());
        assertTrue(mock.functions().isEmpty(), "closing the bus closed its backend");
    }

    @Test
    void functionsThatCannotBeIdentifiedAreSkippedAndClosed() {
        // Addresses no other test uses: the check looks at the model threads of the whole JVM.
        PciAddress a = PciAddress.parse("0000:1a:00.0");
        PciAddress b = PciAddress.parse("0000:1b:00.0");
        PciAddress c = PciAddress.parse("0000:1c:00.0");
        PciAddress d = PciAddress.parse("0000:1d:00.0");
        MockPciBus mock = new MockPciBus().add(a.toString(), new EchoDevice())
                .add(b.toString(), new EchoDevice(notAnswering()))
                .add(c.toString(), new EchoDevice());
        mock.failConfigReads(c, 1);
        assertTrue(mockThreadRunning(b) && mockThreadRunning(c));
        try (PciBus bus = PciBus.open(mock)) {
            assertEquals(List.of(a), bus.devices().stream().map(PciDevice::address).toList());
            assertFalse(mockThreadRunning(b), "the model of the skipped function was stopped");
            assertFalse(mockThreadRunning(c), "the model of the function whose config read failed was stopped");
            // A hot-added function that does not answer is skipped the same way.
            mock.add(d.toString(), new EchoDevice(notAnswering()));
            assertEquals(List.of(a), bus.devices().stream().map(PciDevice::address).toList());
            assertFalse(mockThreadRunning(d));
        }
        assertFalse(mockThreadRunning(a));
    }

    /** A function whose vendor ID reads 0xffff, as an absent or dead function does. */
    private static DeviceConfig notAnswering() {
        return DeviceConfig.builder(EchoDevice.VENDOR, EchoDevice.DEVICE, EchoDevice.CLASS).bar(0, 4096)
                .patchConfig(PciConfig.VENDOR_ID, 2, 0xffff).build();
    }

    private static boolean mockThreadRunning(PciAddress address) {
        return LiveResources.snapshot().values().stream().anyMatch(v -> v.contains("ferrum-mock-" + address + " "));
    }

    @Test
    void closingTheBusReleasesResourcesOfDevicesUsedWithoutADriver() {
        long before = DmaPool.liveBuffersGlobally();
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        Mmio regs;
        DmaBuffer buffer;
        try (PciBus bus = PciBus.open(mock)) {
            PciDevice d = bus.device(A).orElseThrow();
            regs = d.bar(0).get().mmio();
            buffer = d.dmaPool().allocate(4096);
            assertEquals(EchoDevice.ID_VALUE, regs.read32(EchoDevice.ID));
        }
        assertThrows(RevokedException.class, () -> regs.read32(EchoDevice.ID));
        assertFalse(buffer.isAlive());
        assertEquals(before, DmaPool.liveBuffersGlobally());
    }
}
