package dev.ferrum.example.javadoc;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.example.checksum.model.ChecksumAccelerator;
import dev.ferrum.memory.DmaArray;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Field;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.Register32;
import dev.ferrum.memory.Revocable;
import dev.ferrum.memory.RevokedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The examples of the {@code dev.ferrum.memory} Javadoc ({@code {@snippet class=... region=...}}), compiled and
 * run. A device is needed only for its DMA address space: a CSUM-1 on the mock bus.
 */
class MemoryExamplesTest {
    private PciBus bus;
    private PciDevice device;

    @BeforeEach
    void device() {
        bus = PciBus.open(new MockPciBus().add("0000:01:00.0", new ChecksumAccelerator()));
        device = bus.device(PciAddress.parse("0000:01:00.0")).orElseThrow();
    }

    @AfterEach
    void close() {
        bus.close();
    }

    @Test
    void dmaBuffersHaveACpuViewAndADeviceAddressAndArePinnedWhileInUse() {
        // @start region="dma-buffer"
        DmaPool pool = device.dmaPool();                       // the device's pool: mapped in its IOMMU domain
        try (DmaBuffer buffer = pool.allocate(4096)) {
            buffer.segment().set(ValueLayout.JAVA_INT, 0, 42); // the CPU view: a MemorySegment
            long iova = buffer.deviceAddress();                // what the device is given
            buffer.pin();                                      // a command the device runs now refers to it
            assertThrows(IllegalStateException.class, buffer::close); // so it cannot be freed...
            buffer.unpin();                                    // ... until the command completed
            assertTrue(iova != 0);
        }                                                      // unmapped from the device, then freed
        // @end
    }

    @Test
    void aClosedBufferRefusesEveryAccess() {
        DmaBuffer buffer = device.dmaPool().allocate(4096);
        // @start region="use-after-free"
        buffer.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, buffer::segment);
        assertTrue(e.getMessage().contains("use after free"));
        // @end
        assertThrows(IllegalStateException.class, buffer::close, "and a double free");
    }

    @Test
    void dmaArraysIndexElementsAndTheirDeviceAddresses() {
        // @start region="dma-array"
        MemoryLayout entry = MemoryLayout.structLayout(
                ValueLayout.JAVA_LONG.withName("address"), ValueLayout.JAVA_INT.withName("length"),
                ValueLayout.JAVA_INT.withName("flags"));
        try (DmaArray ring = DmaArray.allocate(device.dmaPool(), entry, 256)) {
            long offset = ring.offsetOf(7);                    // 7 * 16: index-checked
            long iova = ring.deviceAddressOf(7);               // the same element as the device sees it
            ring.buffer().segment().set(ValueLayout.JAVA_INT, offset + 8, 512);
            assertThrows(IndexOutOfBoundsException.class, () -> ring.offsetOf(256));
            assertEquals(ring.deviceAddressOf(0) + 7 * 16, iova);
        }
        // @end
    }

    // @start region="register-definitions"
    static final Register32 CC = Register32.at(0x14, "CC");
    static final Field CC_EN = CC.field("EN", 0, 1);
    static final Field CC_MPS = CC.field("MPS", 7, 4);
    // @end

    @Test
    void registersAndFields() {
        try (Arena arena = Arena.ofConfined()) {
            // A register window over ordinary memory: how unit tests exercise register code without a device.
            Mmio bar = Mmio.of(arena.allocate(0x1000, 4096), "test BAR");
            // @start region="register-access"
            int cc = CC_MPS.with(CC_EN.with(0, 1), 0);         // build a value: EN = 1, MPS = 0
            CC.write(bar, cc);                                 // a release write (writel)
            boolean enabled = CC_EN.isSet(CC.read(bar));       // an acquire read (readl), one bit tested
            CC.update(bar, CC_MPS, 2);                         // read-modify-write of one field
            assertThrows(IllegalArgumentException.class, () -> CC_MPS.with(cc, 16)); // 4 bits hold 0..15
            assertThrows(IndexOutOfBoundsException.class, () -> bar.read32(0x1000)); // outside the window
            // @end
            assertTrue(enabled);
            assertEquals(2, CC_MPS.get(CC.read(bar)));
            assertEquals(1, CC_EN.get(bar.read32(0x14)));
        }
    }

    @Test
    void revokedResourcesCannotBeReached() {
        Arena arena = Arena.ofShared();
        Mmio window = Mmio.of(arena.allocate(4096, 4096), "BAR0");
        List<String> released = new ArrayList<>();
        // @start region="revocable"
        Revocable<Mmio> bar = new Revocable<>(window, "BAR0", w -> released.add(w.name()));
        try (Revocable.Access<Mmio> access = bar.tryAccess().orElseThrow(
                () -> new IllegalStateException("device gone"))) {
            access.get().write32(0x14, 1);                     // revocation waits for this access to end
        }
        bar.revoke();                                          // from now on no one reaches the window
        assertTrue(bar.tryAccess().isEmpty());
        // @end
        assertEquals(List.of("BAR0"), released);
        arena.close();
        assertFalse(window.isAccessible());
        assertThrows(RevokedException.class, () -> window.read32(0x14), "a revoked window throws, never crashes");
    }
}
