package dev.ferrum.driver.pci;

import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.EchoDevice;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.memory.Mmio;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PciDeviceTest {
    static final PciAddress A = PciAddress.parse("0000:01:00.0");
    private PciBus bus;
    private MockPciBus mock;

    private PciDevice open(DeviceConfig config) {
        mock = new MockPciBus().add(A, new EchoDevice(config), MockPciBus.Mode.STEPPED);
        bus = PciBus.open(mock);
        return bus.device(A).orElseThrow();
    }

    private PciDevice open() {
        return open(DeviceConfig.builder(EchoDevice.VENDOR, EchoDevice.DEVICE, EchoDevice.CLASS)
                .subsystem(0x1de5, 7).revision(3).bar(0, 0x1000).bar(2, 0x10000, true, true)
                .msix(4, 0, 0x800, 0xc00).extendedCapability(0x0001).extendedCapability(0x000b).build());
    }

    @AfterEach
    void close() {
        if (bus != null) {
            bus.close();
        }
    }

    @Test
    void identityComesFromConfigSpace() {
        PciDevice d = open();
        assertEquals(EchoDevice.VENDOR, d.vendorId());
        assertEquals(EchoDevice.DEVICE, d.deviceId());
        assertEquals(0x1de5, d.subsystemVendorId());
        assertEquals(7, d.subsystemId());
        assertEquals(3, d.revision());
        assertEquals(EchoDevice.CLASS, d.classCode());
        assertEquals("0000:01:00.0 [1de5:ec40] class ff0000", d.toString());
    }

    @Test
    void configAccessIsBoundsAndAlignmentChecked() {
        PciDevice d = open();
        assertEquals(4096, d.configSize());
        IndexOutOfBoundsException oob = assertThrows(IndexOutOfBoundsException.class, () -> d.configRead32(4096));
        assertTrue(oob.getMessage().contains("outside the 4096-byte config space of 0000:01:00.0"), oob.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> d.configRead16(4095));
        assertThrows(IndexOutOfBoundsException.class, () -> d.configWrite8(-1, 0));
        IllegalArgumentException mis = assertThrows(IllegalArgumentException.class, () -> d.configRead32(2));
        assertTrue(mis.getMessage().contains("not 4-byte aligned"), mis.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.configWrite16(4, 0x10000), "value wider than 16 bits");
    }

    @Test
    void readOnlyRegistersIgnoreWritesAndCommandBitsStick() {
        PciDevice d = open();
        d.configWrite16(PciConfig.VENDOR_ID, 0x1234);
        assertEquals(EchoDevice.VENDOR, d.configRead16(PciConfig.VENDOR_ID));
        d.enableMemory();
        d.setBusMaster(true);
        assertEquals(PciConfig.COMMAND_MEMORY | PciConfig.COMMAND_BUS_MASTER,
                d.configRead16(PciConfig.COMMAND) & 0x7);
        d.setBusMaster(false);
        assertEquals(PciConfig.COMMAND_MEMORY, d.configRead16(PciConfig.COMMAND) & 0x7);
    }

    @Test
    void barSizingFollowsThePciProtocol() {
        PciDevice d = open();
        int original = d.configRead32(PciConfig.BAR0);
        d.configWrite32(PciConfig.BAR0, 0xffffffff);
        assertEquals(0x1000, -(d.configRead32(PciConfig.BAR0) & ~0xf), "size from the writable bits");
        d.configWrite32(PciConfig.BAR0, original);
        assertEquals(original, d.configRead32(PciConfig.BAR0));
        assertEquals(0xc, d.configRead32(PciConfig.BAR0 + 8) & 0xf, "BAR2: 64-bit prefetchable memory");
    }

    @Test
    void capabilityWalkFindsEveryCapability() {
        PciDevice d = open();
        List<Capability> caps = d.capabilities();
        assertEquals(List.of(new Capability(PciConfig.CAP_PCIE, 0x40, false),
                new Capability(PciConfig.CAP_MSIX, 0x80, false),
                new Capability(PciConfig.CAP_PM, 0x90, false),
                new Capability(0x0001, 0x100, true),
                new Capability(0x000b, 0x110, true)), caps);
        Capability msix = d.capability(PciConfig.CAP_MSIX).orElseThrow();
        assertEquals(3, d.configRead16(msix.offset() + PciConfig.MSIX_MESSAGE_CONTROL)
                & PciConfig.MSIX_CONTROL_TABLE_SIZE_MASK, "table size is N-1");
        assertTrue(d.capability(PciConfig.CAP_MSI).isEmpty());
        Capability pcie = d.capability(PciConfig.CAP_PCIE).orElseThrow();
        assertNotEquals(0, d.configRead32(pcie.offset() + PciConfig.PCIE_DEVCAP) & PciConfig.PCIE_DEVCAP_FLR);
    }

    @Test
    void loopingCapabilityListFromAHostileDeviceTerminates() {
        // PM at 0x90 points back to the PCIe capability at 0x40: a loop.
        PciDevice d = open(DeviceConfig.builder(EchoDevice.VENDOR, EchoDevice.DEVICE, EchoDevice.CLASS)
                .bar(0, 0x1000).msix(2, 0, 0x800, 0xc00).configSize(256).patchConfig(0x91, 1, 0x40).build());
        List<Capability> caps = d.capabilities();
        assertEquals(3, caps.size(), "each capability once, then the loop is cut: " + caps);
    }

    @Test
    void barsMapOncePerBindingAndAbsentBarsAreReported() {
        PciDevice d = open();
        Devres<Bar> bar0 = d.bar(0);
        assertSame(bar0, d.bar(0));
        assertEquals(0x1000, bar0.get().size());
        assertEquals(0x10000, d.bar(2).get().size());
        assertEquals("BAR0 of 0000:01:00.0 (4096 bytes)", bar0.get().toString());
        IllegalArgumentException absent = assertThrows(IllegalArgumentException.class, () -> d.bar(1));
        assertEquals("BAR1 of 0000:01:00.0 is not implemented", absent.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.bar(6));
    }

    @Test
    void slowBarAccessReachesTheSameRegistersAsTheMapping() {
        PciDevice d = open();
        Mmio regs = d.bar(0).get().mmio();
        assertEquals(Integer.toUnsignedLong(EchoDevice.ID_VALUE), d.barRead(0, EchoDevice.ID, 4));
        d.barWrite(0, EchoDevice.DMA_ADDR, 8, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, regs.read64(EchoDevice.DMA_ADDR), "a slow write is seen through the mapping");
        regs.write32(EchoDevice.DMA_LEN, 0xcafef00d);
        assertEquals(0xcafef00dL, d.barRead(0, EchoDevice.DMA_LEN, 4), "a mapped write is seen by a slow read");
        assertEquals(0xf00dL, d.barRead(0, EchoDevice.DMA_LEN, 2), "little endian");
        assertEquals(0xcaL, d.barRead(0, EchoDevice.DMA_LEN + 3, 1));
        d.barWrite(2, 0xfffc, 4, 0xffff_ffffL);
        assertEquals(0xffff_ffffL, d.barRead(2, 0xfffc, 4), "the last dword of the 64 KiB BAR2");

        IllegalArgumentException index = assertThrows(IllegalArgumentException.class, () -> d.barRead(6, 0, 4));
        assertTrue(index.getMessage().contains("BAR index 6 is not 0..5"), index.getMessage());
        IllegalArgumentException absent = assertThrows(IllegalArgumentException.class, () -> d.barRead(1, 0, 4));
        assertTrue(absent.getMessage().contains("BAR1 of 0000:01:00.0 is not implemented"), absent.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.barRead(0, 0, 3), "width 3");
        IndexOutOfBoundsException outside = assertThrows(IndexOutOfBoundsException.class,
                () -> d.barRead(0, 0x1000, 4));
        assertTrue(outside.getMessage().contains("outside BAR0 of 0000:01:00.0 (4096 bytes)"), outside.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> d.barWrite(0, -4, 4, 0));
        IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class,
                () -> d.barWrite(0, 2, 4, 0));
        assertTrue(misaligned.getMessage().contains("not 4-byte aligned"), misaligned.getMessage());
        IllegalArgumentException tooWide = assertThrows(IllegalArgumentException.class,
                () -> d.barWrite(0, EchoDevice.DMA_LEN, 2, 0x1_0000));
        assertTrue(tooWide.getMessage().contains("does not fit a 16-bit BAR write"), tooWide.getMessage());
        assertEquals(0xcafef00dL, d.barRead(0, EchoDevice.DMA_LEN, 4), "refused writes changed nothing");
    }

    @Test
    void afterRemovalEverythingButTeardownThrowsDeviceGone() {
        PciDevice d = open();
        d.enableMsix(2);
        mock.surpriseRemove(A);
        assertFalse(d.isPresent());
        List<Executable> refused = List.of(d::configSize, d::addressSpace, () -> d.configRead16(0),
                () -> d.barRead(0, 0, 4), () -> d.barWrite(0, 0, 4, 0), () -> d.bar(0), d::dmaPool,
                d::msixVectorCount, () -> d.enableMsix(1), d::reset, d::capabilities, () -> d.setBusMaster(false),
                () -> d.devres("x", "x", x -> {}));
        for (Executable e : refused) {
            assertThrows(DeviceGoneException.class, e);
        }
        // What a driver's remove needs for teardown still works.
        assertTrue(d.msixVectors().isEmpty());
        d.disableMsix();
        assertEquals(EchoDevice.VENDOR, d.vendorId());
        assertEquals(A, d.address());
    }

    @Test
    void configReadErrorSurfacesAsTheSyscallErrorVfioWouldGive() {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        bus = PciBus.open(mock);
        PciDevice d = bus.device(A).orElseThrow();
        mock.failConfigReads(A, 1);
        SyscallException e = assertThrows(SyscallException.class, () -> d.configRead16(PciConfig.COMMAND));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("config space of 0000:01:00.0"), e.getMessage());
        assertEquals(EchoDevice.VENDOR, d.configRead16(PciConfig.VENDOR_ID), "only the injected read failed");
    }

    @Test
    void resetRestoresDeviceRegistersButKeepsConfig() {
        MockPciBus mock = new MockPciBus().add(A, new EchoDevice(), MockPciBus.Mode.STEPPED);
        bus = PciBus.open(mock);
        PciDevice d = bus.device(A).orElseThrow();
        d.enableMemory();
        var regs = d.bar(0).get().mmio();
        regs.write32(EchoDevice.ID, 0);
        EchoDevice model = (EchoDevice) mock.model(A);
        int resetsBefore = model.resets;
        d.reset();
        assertEquals(resetsBefore + 1, model.resets);
        assertEquals(EchoDevice.ID_VALUE, regs.read32(EchoDevice.ID), "registers back to power-on values");
        assertEquals(PciConfig.COMMAND_MEMORY, d.configRead16(PciConfig.COMMAND) & PciConfig.COMMAND_MEMORY);
        // A function-level reset started through config space clears the command register, as hardware does.
        int devctl = d.capability(PciConfig.CAP_PCIE).orElseThrow().offset() + PciConfig.PCIE_DEVCTL;
        d.configWrite16(devctl, PciConfig.PCIE_DEVCTL_BCR_FLR);
        assertEquals(resetsBefore + 2, model.resets);
        assertEquals(0, d.configRead16(PciConfig.COMMAND) & 0x7);
        assertEquals(0, d.configRead16(devctl) & PciConfig.PCIE_DEVCTL_BCR_FLR, "the FLR bit self-clears");
    }
}
