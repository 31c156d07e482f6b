package dev.ferrum.driver.mock;

import dev.ferrum.driver.mock.internal.DeviceMemory;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A device model belongs to one slot for its whole life: its BAR memory is freed with that slot. */
class ModelLifecycleTest {
    static final PciAddress A = PciAddress.parse("0000:01:00.0");
    static final PciAddress B = PciAddress.parse("0000:02:00.0");

    @Test
    void aModelAlreadyOnTheBusCannotBeAddedAtASecondAddress() {
        EchoDevice model = new EchoDevice();
        try (MockPciBus mock = new MockPciBus().add(A, model, MockPciBus.Mode.STEPPED)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> mock.add(B, model, MockPciBus.Mode.STEPPED));
            assertTrue(e.getMessage().contains("EchoDevice@") && e.getMessage().contains("already attached at " + A),
                    e.getMessage());
            assertEquals(1, mock.functions().size(), "nothing was added at " + B);
            // Nor on another bus.
            try (MockPciBus other = new MockPciBus()) {
                assertThrows(IllegalStateException.class, () -> other.add(A, model, MockPciBus.Mode.STEPPED));
                assertTrue(other.functions().isEmpty());
            }
        }
    }

    @Test
    void aRemovedModelCannotBeAddedAgainBecauseItsMemoryIsFreed() {
        EchoDevice model = new EchoDevice();
        MockPciBus mock = new MockPciBus().add(A, model, MockPciBus.Mode.STEPPED);
        try (PciBus bus = PciBus.open(mock)) {
            EchoDriver driver = new EchoDriver();
            bus.register(driver);
            mock.remove(A);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> mock.add(A, model, MockPciBus.Mode.STEPPED));
            assertTrue(e.getMessage().contains("was removed from " + A) && e.getMessage().contains("create a new one"),
                    e.getMessage());
            assertTrue(bus.devices().isEmpty(), "no device over freed memory was handed to the bus");
            assertThrows(IllegalStateException.class, model::step, "a freed model does not run");
        }
    }

    @Test
    void aSurpriseRemovedModelCannotBeAddedAgainEither() {
        EchoDevice model = new EchoDevice();
        MockPciBus mock = new MockPciBus().add(A.toString(), model);
        try (PciBus bus = PciBus.open(mock)) {
            mock.surpriseRemove(A);
            assertThrows(IllegalStateException.class, () -> mock.add(B, model, MockPciBus.Mode.THREADED));
            assertTrue(mock.functions().isEmpty());
        }
    }

    @Test
    void noViewIsMadeOfFreedMemory() {
        MemorySegment freed;
        try (Arena owner = Arena.ofConfined()) {
            freed = owner.allocate(4096, 4096);
        }
        try (Arena viewArena = Arena.ofConfined()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> DeviceMemory.view(freed, viewArena));
            assertTrue(e.getMessage().contains("freed memory"), e.getMessage());
        }
    }

    @Test
    void theMockIommuRefusesToMapFreedMemory() {
        MockIommu iommu = new MockIommu("test");
        MemorySegment freed;
        try (Arena owner = Arena.ofConfined()) {
            freed = owner.allocate(4096, 4096);
        }
        assertThrows(IllegalStateException.class, () -> iommu.map(freed));
        assertEquals(0, iommu.mappingCount());
    }
}
