package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * VFIO's unsafe no-IOMMU mode end to end, in a test VM without an IOMMU ({@code ./ferrum vm-test --no-iommu}: the
 * harness rebuilds vfio.ko with {@code CONFIG_VFIO_NOIOMMU}, loads it with {@code enable_unsafe_noiommu_mode=1}
 * and reserves huge pages). The device is opened through {@code /dev/vfio/noiommu-N}, DMA uses physical addresses
 * from {@code /proc/self/pagemap}, and QEMU's controller writes Identify data to them.
 */
@Tag("vfio-noiommu")
class VfioNoIommuVmTest {

    private static String ascii(MemorySegment s, long offset, int length) {
        return new String(s.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
    }

    /** The physical address of {@code virtual}, read from /proc/self/pagemap independently of the backend. */
    private static long physicalAddress(long virtual) throws IOException {
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            ByteBuffer entry = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(8, pagemap.read(entry, (virtual / 4096) * 8));
            long e = entry.getLong(0);
            assertTrue(e < 0, "page present (bit 63) in pagemap entry 0x" + Long.toHexString(e));
            long pfn = e & ((1L << 55) - 1);
            assertNotEquals(0, pfn, "a page frame number (root sees it)");
            return pfn * 4096 + (virtual & 4095);
        }
    }

    @Test
    void identifyThroughPhysicalAddressesWithoutAnIommu() throws Exception {
        assertEquals("1", System.getenv("FERRUM_VFIO_NOIOMMU"), "the VM runs without an IOMMU (--no-iommu)");
        PciAddress a = VfioVm.bdf();
        VfioBackend backend = VfioBackend.builder().device(a).unsafeNoIommu(true).open();
        try (PciBus bus = PciBus.open(backend)) {
            assertEquals("no-IOMMU", backend.iommuType());
            assertEquals("vfio-noiommu", bus.backendName());
            VfioVm.CapturingDriver driver = new VfioVm.CapturingDriver();
            assertEquals(1, bus.register(driver).size());
            PciDevice dev = driver.device;
            assertEquals(2L << 20, dev.addressSpace().pageSize(), "no-IOMMU DMA is mapped in 2 MiB huge pages");
            assertTrue(dev.dmaPool().usesHugePages(), "the device's pool takes huge pages by itself");

            VfioVm.AdminQueue q = new VfioVm.AdminQueue(dev);
            DmaBuffer data = dev.dmaPool().allocate(4096);
            data.segment().fill((byte) 0x5a);
            assertEquals(physicalAddress(data.segment().address()), data.deviceAddress(),
                    "the device address is the buffer's physical address");
            assertEquals(0, q.identify(data.deviceAddress()), "Identify status");
            assertEquals("ferrum-vm-0001", ascii(data.segment(), 4, 20), "the controller wrote to physical memory");
            assertEquals("QEMU NVMe Ctrl", ascii(data.segment(), 24, 40));
            assertTrue(q.vector.total() >= 1, "MSI-X works without an IOMMU too");

            // A pool of 4 KiB pages is refused: such pages (transparent huge pages too) may move under the device.
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> dev.createDmaPool("small pages", DmaPool.HugePages.NEVER));
            assertTrue(refused.getMessage().contains("needs 2 MiB huge pages"), refused.getMessage());
            assertTrue(dev.createDmaPool("preferred", DmaPool.HugePages.PREFER).usesHugePages(),
                    "PREFER never falls back to small pages here");
        }
    }
}
