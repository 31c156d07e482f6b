package dev.ferrum.driver.vfio;

import dev.ferrum.driver.vfio.internal.Type1AddressSpace;
import dev.ferrum.memory.DmaBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Real DMA and interrupts through VFIO: the test brings up QEMU's NVMe admin queue by hand (no driver), runs
 * Identify Controller into a DMA buffer and receives the completion's MSI-X interrupt; then it points a command at
 * an IOVA that was never mapped and shows the IOMMU blocked the device's write (the guest kernel logs a DMAR fault;
 * QEMU 7.2's controller still completes the command, with status 0).
 */
@Tag("vfio")
class VfioNvmeAdminVmTest {

    private static String ascii(MemorySegment s, long offset, int length) {
        return new String(s.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
    }

    @Test
    void identifyControllerCompletesWithAnMsixInterrupt() throws InterruptedException {
        try (VfioVm.Session s = VfioVm.open()) {
            VfioVm.AdminQueue q = new VfioVm.AdminQueue(s.device());
            DmaBuffer data = s.device().dmaPool().allocate(4096);
            data.segment().fill((byte) 0xa5);
            assertEquals(0, q.identify(data.deviceAddress()), "Identify status");
            assertEquals("QEMU NVMe Ctrl", ascii(data.segment(), 24, 40), "model number (MN)");
            assertEquals("ferrum-vm-0001", ascii(data.segment(), 4, 20), "serial number (SN), set by the VM");
            assertEquals(VfioVm.QEMU_VENDOR, data.segment().get(ValueLayout.JAVA_SHORT, 0) & 0xffff, "PCI vendor (VID)");

            // A second command on the same queue: interrupts keep coming.
            data.segment().fill((byte) 0);
            assertEquals(0, q.identify(data.deviceAddress()));
            assertEquals("QEMU NVMe Ctrl", ascii(data.segment(), 24, 40));
            assertTrue(q.vector.total() >= 2, "two interrupts, total " + q.vector.total());
        }
    }

    @Test
    void dmaToAnIovaThatWasNeverMappedIsBlockedByTheIommu() throws Exception {
        try (VfioVm.Session s = VfioVm.open()) {
            VfioBackend backend = s.backend();
            Type1AddressSpace space = (Type1AddressSpace) backend.addressSpace();
            VfioVm.AdminQueue q = new VfioVm.AdminQueue(s.device());
            DmaBuffer canary = s.device().dmaPool().allocate(4096);
            canary.segment().fill((byte) 0x3c);
            // The top of the IOVA window: first-fit allocation starts at the bottom, so nothing is mapped there.
            long unmapped = space.window()[1] - (2L << 20);
            assertFalse(space.isMapped(unmapped), "the target IOVA is not mapped");
            int logLines = VfioVm.dmesg().size();

            int status = q.identify(unmapped);

            String expected = "fault addr 0x" + Long.toHexString(unmapped);
            String fault = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(VfioVm.WAIT_SECONDS).toNanos();
            while (fault == null) {
                List<String> log = VfioVm.dmesg();
                for (String line : log.subList(Math.min(logLines, log.size()), log.size())) {
                    if (line.contains("DMAR: [DMA Write") && line.contains(expected)) {
                        fault = line;
                    }
                }
                if (fault == null && System.nanoTime() - deadline > 0) {
                    fail("no new 'DMAR: [DMA Write ... " + expected + "' line in the guest's kernel log within "
                            + VfioVm.WAIT_SECONDS + " s; new lines: " + log.subList(Math.min(logLines, log.size()),
                            log.size()));
                }
                if (fault == null) {
                    Thread.sleep(100); // the fault is logged asynchronously from the IOMMU's fault interrupt
                }
            }
            System.out.println("IOMMU fault logged: " + fault.strip() + "; command status 0x"
                    + Integer.toHexString(status));
            for (long i = 0; i < canary.byteSize(); i++) {
                if (canary.segment().get(ValueLayout.JAVA_BYTE, i) != 0x3c) {
                    fail("the blocked Identify changed mapped memory at byte " + i);
                }
            }
            // The controller still works for mapped memory afterwards.
            assertEquals(0, q.identify(canary.deviceAddress()));
            assertEquals("QEMU NVMe Ctrl", ascii(canary.segment(), 24, 40));
        }
    }
}
