package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.Bar;
import dev.ferrum.driver.pci.Capability;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.spi.BarInfo;
import dev.ferrum.driver.pci.spi.PciFunction;
import dev.ferrum.driver.vfio.internal.Type1AddressSpace;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.ferrum.driver.vfio.VfioVm.AQA;
import static dev.ferrum.driver.vfio.VfioVm.ASQ;
import static dev.ferrum.driver.vfio.VfioVm.CAP;
import static dev.ferrum.driver.vfio.VfioVm.CC;
import static dev.ferrum.driver.vfio.VfioVm.CSTS;
import static dev.ferrum.driver.vfio.VfioVm.VS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The VFIO backend against the real Linux VFIO stack and QEMU's NVMe controller, in the test VM: config space,
 * capabilities, BAR mapping and slow (pread/pwrite) BAR access, DMA mapping through the IOMMU, MSI-X routing, reset, and the errors of a second open
 * and of functions not bound to vfio-pci.
 */
@Tag("vfio")
class VfioBackendVmTest {

    @Test
    void configSpaceIdentifiesQemusNvmeControllerAndItsCapabilities() {
        try (VfioVm.Session s = VfioVm.open()) {
            PciDevice dev = s.device();
            assertEquals("vfio", s.bus().backendName());
            assertEquals(VfioVm.QEMU_VENDOR, dev.vendorId());
            assertEquals(VfioVm.QEMU_NVME, dev.deviceId());
            assertEquals(PciConfig.CLASS_NVME, dev.classCode());
            assertTrue(dev.configSize() == 256 || dev.configSize() == 4096, "config size " + dev.configSize());
            List<Integer> ids = dev.capabilities().stream().filter(c -> !c.extended()).map(Capability::id).toList();
            assertTrue(ids.contains(PciConfig.CAP_MSIX), "capability walk finds MSI-X: " + dev.capabilities());
            assertTrue(ids.contains(PciConfig.CAP_PCIE), "capability walk finds PCI Express: " + dev.capabilities());
            Capability msix = dev.capability(PciConfig.CAP_MSIX).orElseThrow();
            int tableSize = (dev.configRead16(msix.offset() + PciConfig.MSIX_MESSAGE_CONTROL)
                    & PciConfig.MSIX_CONTROL_TABLE_SIZE_MASK) + 1;
            assertEquals(tableSize, dev.msixVectorCount(), "VFIO_DEVICE_GET_IRQ_INFO agrees with the MSI-X capability");

            // Config writes reach the device: toggle bus mastering and read it back.
            dev.setBusMaster(true);
            assertTrue((dev.configRead16(PciConfig.COMMAND) & PciConfig.COMMAND_BUS_MASTER) != 0);
            dev.setBusMaster(false);
            assertEquals(0, dev.configRead16(PciConfig.COMMAND) & PciConfig.COMMAND_BUS_MASTER);
        }
    }

    @Test
    void bar0IsMappedAndShowsTheNvmeRegisters() {
        PciAddress a = VfioVm.bdf();
        try (VfioVm.Session s = VfioVm.open()) {
            VfioBackend backend = s.backend();
            PciDevice dev = s.device();
            PciFunction f = backend.functions().getFirst();
            BarInfo info0 = f.barInfo(0);
            assertTrue(info0.present() && info0.memory() && info0.is64Bit(), "BAR0 is a 64-bit memory BAR: " + info0);
            assertEquals(0, Long.bitCount(info0.size()) - 1, "BAR0 size is a power of two: " + info0);
            assertTrue(info0.mappableSize() >= 0x2000, "registers and doorbells are mappable: " + info0);
            assertFalse(f.barInfo(1).present(), "BAR1 is the upper half of the 64-bit BAR0: " + f.barInfo(1));

            dev.enableMemory();
            Bar bar = dev.bar(0).get();
            assertEquals(info0.mappableSize(), bar.size());
            Mmio regs = bar.mmio();
            long cap = regs.read64(CAP);
            assertEquals(0x7ff, cap & 0xffff, "CAP.MQES (QEMU: 2048 entries)");
            assertEquals(1, (cap >>> 16) & 1, "CAP.CQR: contiguous queues required");
            assertEquals(0, (cap >>> 32) & 0xf, "CAP.DSTRD: 4-byte doorbell stride");
            assertEquals(1, (cap >>> 37) & 1, "CAP.CSS: NVM command set");
            assertEquals(0, (cap >>> 48) & 0xf, "CAP.MPSMIN: 4 KiB pages");
            assertEquals(0x0f, (cap >>> 24) & 0xff, "CAP.TO");
            assertEquals(0x00010400, regs.read32(VS), "VS: NVMe 1.4");

            // The same registers through pread on the device file (how unmappable parts of a BAR are reached).
            assertEquals(cap, backend.barRead(a, 0, CAP, 8));
            assertEquals(0x00010400L, backend.barRead(a, 0, VS, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> backend.barRead(a, 0, info0.size(), 4));
            assertThrows(IllegalArgumentException.class, () -> backend.barRead(a, 0, 2, 4));
        }
    }

    @Test
    void slowBarWritesReachTheRegistersTheMappingShows() {
        PciAddress a = VfioVm.bdf();
        try (VfioVm.Session s = VfioVm.open()) {
            PciDevice dev = s.device();
            dev.enableMemory();
            Mmio regs = dev.bar(0).get().mmio();
            VfioVm.disable(regs); // the admin queue registers are set while the controller is disabled

            // pwrite on the device file through the backend, read back through the mmap.
            s.backend().barWrite(a, 0, AQA, 4, 0x000f_0007L);
            assertEquals(0x000f_0007, regs.read32(AQA), "AQA written with pwrite, read through the mapping");
            // The same path through PciDevice (PciFunction's slow BAR access), 64 bits wide.
            dev.barWrite(0, ASQ, 8, 0x1234_5000L);
            assertEquals(0x1234_5000L, regs.read64(ASQ), "ASQ written with pwrite, read through the mapping");
            // And the other way: written through the mapping, read with pread.
            regs.write32(AQA, 0x001f_001f);
            assertEquals(0x001f_001fL, dev.barRead(0, AQA, 4));
            assertEquals(0x001f_001fL, s.backend().barRead(a, 0, AQA, 4));
            assertThrows(IllegalArgumentException.class, () -> dev.barWrite(0, AQA, 2, 0x1_0000L),
                    "a value wider than the access is refused before the kernel sees it");
        }
    }

    @Test
    void dmaBuffersAreMappedThroughTheIommuAndUnmappedOnClose() {
        try (VfioVm.Session s = VfioVm.open()) {
            VfioBackend backend = s.backend();
            Type1AddressSpace space = (Type1AddressSpace) backend.addressSpace();
            assertEquals(backend.addressSpace(), s.device().addressSpace());
            assertTrue(backend.iommuType().startsWith("type1"), backend.iommuType());
            long[] window = space.window();
            DmaPool pool = s.device().dmaPool();
            long twoMiB = 2L << 20;
            long[] sizes = {4096, 64 << 10, twoMiB, 3 * twoMiB / 2, 5000};
            List<DmaBuffer> buffers = new ArrayList<>();
            for (long size : sizes) {
                DmaBuffer b = pool.allocate(size);
                buffers.add(b);
                long iova = b.deviceAddress();
                assertTrue(iova >= window[0] && iova + b.byteSize() <= window[1], b + " inside the window");
                assertEquals(0, iova % (b.byteSize() >= twoMiB ? twoMiB : 4096), b + " alignment");
                assertTrue(space.isMapped(iova) && space.isMapped(iova + b.byteSize() - 1), b + " mapped");
                b.segment().fill((byte) 0x5a); // pinned, locked memory is ordinary memory for the CPU
            }
            assertEquals(sizes.length, space.mappingCount());
            for (int i = 0; i < buffers.size(); i++) {
                for (int j = i + 1; j < buffers.size(); j++) {
                    DmaBuffer x = buffers.get(i);
                    DmaBuffer y = buffers.get(j);
                    assertTrue(x.deviceAddress() + x.byteSize() <= y.deviceAddress()
                            || y.deviceAddress() + y.byteSize() <= x.deviceAddress(), x + " overlaps " + y);
                }
            }

            // Unmap the 2 MiB buffer: the IOVA range is free again, and VFIO_IOMMU_MAP_DMA at exactly that IOVA
            // succeeds (the kernel refuses to map over a live mapping with EEXIST).
            DmaBuffer big = buffers.remove(2);
            long iova = big.deviceAddress();
            big.close();
            assertFalse(space.isMapped(iova));
            assertEquals(sizes.length - 1, space.mappingCount());
            DmaBuffer again = pool.allocate(twoMiB);
            assertEquals(iova, again.deviceAddress(), "first fit hands out the unmapped IOVA again");
            assertThrows(IllegalArgumentException.class, () -> space.unmap(iova + 4096, 4096),
                    "unmap of a range that is not a mapping is refused");
            again.close();
            assertThrows(IllegalStateException.class, again::close, "double free");
            for (DmaBuffer b : buffers) {
                b.close();
            }
            assertEquals(0, space.mappingCount());
        }
    }

    @Test
    void closingTheBackendUnmapsWhatIsStillMappedAndOwnersMayUnmapAfterwards() {
        DmaBuffer leftover;
        DmaPool pool;
        Type1AddressSpace space;
        try (VfioBackend backend = VfioBackend.open(VfioVm.bdf())) {
            space = (Type1AddressSpace) backend.addressSpace();
            pool = DmaPool.create(backend.addressSpace());
            leftover = pool.allocate(8192);
            assertEquals(1, space.mappingCount());
        }
        assertEquals(0, space.mappingCount(), "close unmapped the live mapping before closing the container");
        assertThrows(IllegalStateException.class, () -> pool.allocate(4096), "no new mappings after close");
        leftover.close(); // its unmap is accepted: the IOMMU no longer maps it
        assertEquals(0, pool.liveBuffers());
    }

    @Test
    void msixIsRoutedThroughVfioAndTheCapabilityFollows() {
        try (VfioVm.Session s = VfioVm.open()) {
            PciDevice dev = s.device();
            int control = dev.capability(PciConfig.CAP_MSIX).orElseThrow().offset() + PciConfig.MSIX_MESSAGE_CONTROL;
            assertEquals(0, dev.configRead16(control) & PciConfig.MSIX_CONTROL_ENABLE, "MSI-X starts disabled");
            assertEquals(4, dev.enableMsix(4).size());
            assertNotEquals(0, dev.configRead16(control) & PciConfig.MSIX_CONTROL_ENABLE,
                    "VFIO_DEVICE_SET_IRQS enabled MSI-X in the function");
            dev.disableMsix();
            assertEquals(0, dev.configRead16(control) & PciConfig.MSIX_CONTROL_ENABLE, "disabled again");
            assertEquals(dev.msixVectorCount(), dev.enableMsix(dev.msixVectorCount()).size(), "all vectors");
            assertThrows(IllegalStateException.class, () -> dev.enableMsix(1), "already enabled");
        }
    }

    @Test
    void resetThroughVfioDisablesTheRunningController() throws InterruptedException {
        try (VfioVm.Session s = VfioVm.open()) {
            VfioBackend backend = s.backend();
            PciDevice dev = s.device();
            assertTrue(backend.resetSupported(dev.address()), "the kernel has a reset method for QEMU's NVMe");
            VfioVm.AdminQueue q = new VfioVm.AdminQueue(dev); // CC.EN=1, CSTS.RDY=1
            Mmio regs = q.regs;
            long cap = regs.read64(CAP);
            assertEquals(1, regs.read32(CC) & 1);

            dev.reset();

            // QEMU resets CC and CSTS on a function reset (it keeps AQA/ASQ/ACQ, which the NVMe spec allows).
            assertEquals(0, regs.read32(CC), "CC after reset");
            assertEquals(0, regs.read32(CSTS) & 1, "CSTS.RDY after reset");
            assertEquals(cap, regs.read64(CAP), "CAP after reset");
            assertEquals(0x00010400, regs.read32(VS), "VS after reset");
            // VFIO restores the function's config state around the reset: the BAR mapping, bus mastering and MSI-X
            // still work, so the controller can be brought up again and completes a command with an interrupt.
            assertTrue((dev.configRead16(PciConfig.COMMAND) & PciConfig.COMMAND_BUS_MASTER) != 0);
            regs.write32(CC, 1 | (6 << 16) | (4 << 20));
            VfioVm.await(() -> (regs.read32(CSTS) & 1) == 1, "CSTS.RDY sets again after the reset");
            q.tail = 0;
            q.head = 0;
            q.phase = 1;
            q.sq.segment().fill((byte) 0);
            q.cq.segment().fill((byte) 0);
            DmaBuffer data = dev.dmaPool().allocate(4096);
            assertEquals(0, q.identify(data.deviceAddress()));
        }
    }

    @Test
    void openingTheSameDeviceTwiceIsRefusedWithTheBusyGroup() {
        PciAddress a = VfioVm.bdf();
        try (VfioBackend first = VfioBackend.open(a)) {
            VfioException e = assertThrows(VfioException.class, () -> VfioBackend.open(a));
            assertEquals(VfioException.Reason.GROUP_BUSY, e.reason(), e.getMessage());
            assertTrue(e.getMessage().contains("/dev/vfio/" + VfioVm.group()), e.getMessage());
            assertEquals(1, first.functions().size());
        }
        // Closed: it can be opened again.
        try (VfioBackend again = VfioBackend.open(a)) {
            assertEquals(a, again.functions().getFirst().address());
        }
    }

    @Test
    void functionsNotBoundToVfioPciOrAbsentAreRefusedWithTheFix() {
        PciAddress hostBridge = PciAddress.parse("0000:00:00.0");
        VfioException notBound = assertThrows(VfioException.class, () -> VfioBackend.open(hostBridge));
        assertEquals(VfioException.Reason.NOT_BOUND_TO_VFIO_PCI, notBound.reason(), notBound.getMessage());
        assertTrue(notBound.getMessage().contains("echo vfio-pci > /sys/bus/pci/devices/0000:00:00.0/driver_override"),
                notBound.getMessage());

        VfioException absent = assertThrows(VfioException.class,
                () -> VfioBackend.open(PciAddress.parse("0000:00:1e.7")));
        assertEquals(VfioException.Reason.DEVICE_NOT_FOUND, absent.reason(), absent.getMessage());
        assertTrue(absent.getMessage().contains("lspci -D"), absent.getMessage());

        // Every device is checked before anything is opened: one bad address fails the whole open, leaving the
        // good device free to open afterwards.
        assertThrows(VfioException.class, () -> VfioBackend.open(List.of(VfioVm.bdf(), hostBridge)));
        try (VfioBackend ok = VfioBackend.open(VfioVm.bdf())) {
            assertEquals(1, ok.functions().size());
        }
    }
}
