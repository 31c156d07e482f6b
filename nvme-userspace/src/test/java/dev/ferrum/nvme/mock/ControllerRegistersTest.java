package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.IommuFault;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.internal.NvmeRegs;
import dev.ferrum.nvme.mock.NvmeTestHost.Cqe;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ControllerRegistersTest {
    private static final long CC = NvmeRegs.CC.offset();
    private static final long AQA = NvmeRegs.AQA.offset();
    private static final long ASQ = NvmeRegs.ASQ.offset();
    private static final long ACQ = NvmeRegs.ACQ.offset();

    private static MockNvmeController.Config.Builder config() {
        return MockNvmeController.Config.builder();
    }

    @Test
    void pciIdentityBarAndMsixLayout() {
        MockNvmeController.Config c = config().maxIoQueuePairs(100).msixVectors(33).doorbellStride(1).build();
        try (NvmeTestHost h = NvmeTestHost.stepped(c)) {
            assertEquals(0x1de5, h.device.vendorId());
            assertEquals(0x0a0e, h.device.deviceId());
            assertEquals(0x010802, h.device.classCode());
            assertEquals(0x1de5, h.device.subsystemVendorId());
            int bar0 = h.device.configRead32(PciConfig.BAR0);
            assertEquals(0x4, bar0 & 0x6, "BAR0 is a 64-bit memory BAR");
            long doorbellEnd = 0x1000 + 2L * 101 * 8;
            assertTrue(h.regs.size() >= doorbellEnd && h.regs.size() >= 16 * 1024, "BAR0 size " + h.regs.size());
            assertEquals(33, h.device.msixVectorCount());
            int msix = h.device.capability(PciConfig.CAP_MSIX).orElseThrow().offset();
            int table = h.device.configRead32(msix + PciConfig.MSIX_TABLE);
            int pba = h.device.configRead32(msix + PciConfig.MSIX_PBA);
            assertEquals(0, table & 7, "table in BAR0");
            assertTrue((table & ~7) >= doorbellEnd, "MSI-X table 0x" + Integer.toHexString(table)
                    + " lies after the doorbells");
            assertTrue((pba & ~7) >= (table & ~7) + 16 * 33, "PBA after the table");
            assertTrue((pba & ~7) + 8 <= h.regs.size());
        }
    }

    @Test
    void capabilitiesAndVersion() {
        MockNvmeController.Config c = config().maxQueueEntries(256).timeout(30).doorbellStride(2).mpsMax(2).build();
        try (NvmeTestHost h = NvmeTestHost.stepped(c)) {
            long cap = h.regs.read64(NvmeRegs.CAP.offset());
            assertEquals(255, NvmeRegs.CAP_MQES.get(cap));
            assertEquals(1, NvmeRegs.CAP_CQR.get(cap));
            assertEquals(0, NvmeRegs.CAP_AMS.get(cap));
            assertEquals(30, NvmeRegs.CAP_TO.get(cap));
            assertEquals(2, NvmeRegs.CAP_DSTRD.get(cap));
            assertEquals(1, NvmeRegs.CAP_CSS.get(cap) & 1, "NVM command set");
            assertEquals(0, NvmeRegs.CAP_MPSMIN.get(cap));
            assertEquals(2, NvmeRegs.CAP_MPSMAX.get(cap));
            assertEquals(0x00010400, h.regs.read32(NvmeRegs.VS.offset()));
            assertEquals(0, h.csts());
            h.regs.write64(NvmeRegs.CAP.offset(), -1L);
            h.regs.write32(NvmeRegs.VS.offset(), 7);
            h.step();
            assertEquals(cap, h.regs.read64(NvmeRegs.CAP.offset()), "CAP is read-only");
            assertEquals(0x00010400, h.regs.read32(NvmeRegs.VS.offset()), "VS is read-only");
        }
    }

    @Test
    void readyFollowsEnableAfterTheConfiguredSteps() {
        try (NvmeTestHost h = NvmeTestHost.stepped(config().readyDelaySteps(3).build())) {
            DmaBuffer asq = h.pool.allocate(4096);
            DmaBuffer acq = h.pool.allocate(4096);
            h.regs.write32(AQA, 7 | 7 << 16);
            h.regs.write64(ASQ, asq.deviceAddress());
            h.regs.write64(ACQ, acq.deviceAddress());
            h.regs.write32(CC, NvmeTestHost.CC_ENABLE);
            h.ctrl.step(); // sees CC.EN = 1
            for (int i = 0; i <= 3; i++) {
                assertEquals(0, h.csts() & 1, "not ready " + i + " passes after the enabling one");
                h.ctrl.step();
            }
            assertEquals(1, h.csts(), "RDY after the delay, no CFS, SHST 0");
            assertTrue(h.ctrl.isReady());
        }
    }

    @Test
    void readyDelayInTime() {
        try (NvmeTestHost h = NvmeTestHost.stepped(config().readyDelay(Duration.ofMillis(30)).build())) {
            long start = System.nanoTime();
            h.enable(4);
            assertTrue(System.nanoTime() - start >= Duration.ofMillis(30).toNanos(), "RDY not before the delay");
        }
    }

    private record BadConfig(String name, int cc, int aqa, boolean alignedQueues, String reason) {}

    @Test
    void invalidConfigurationAtEnableSetsFatalStatus() {
        List<BadConfig> cases = List.of(
                new BadConfig("IOSQES", 1 | 5 << 16 | 4 << 20, 3 | 3 << 16, true, "IOSQES=5"),
                new BadConfig("IOCQES", 1 | 6 << 16 | 5 << 20, 3 | 3 << 16, true, "IOCQES=5"),
                new BadConfig("CSS", NvmeTestHost.CC_ENABLE | 1 << 4, 3 | 3 << 16, true, "CSS=1"),
                new BadConfig("MPS", NvmeTestHost.CC_ENABLE | 5 << 7, 3 | 3 << 16, true, "MPS=5"),
                new BadConfig("AMS", NvmeTestHost.CC_ENABLE | 1 << 11, 3 | 3 << 16, true, "AMS=1"),
                new BadConfig("ASQS", NvmeTestHost.CC_ENABLE, 0 | 3 << 16, true, "at least 2 entries"),
                new BadConfig("alignment", NvmeTestHost.CC_ENABLE, 3 | 3 << 16, false, "aligned"));
        for (BadConfig b : cases) {
            try (NvmeTestHost h = NvmeTestHost.stepped(config().build())) {
                DmaBuffer asq = h.pool.allocate(4096);
                DmaBuffer acq = h.pool.allocate(4096);
                h.regs.write32(AQA, b.aqa());
                h.regs.write64(ASQ, asq.deviceAddress() + (b.alignedQueues() ? 0 : 64));
                h.regs.write64(ACQ, acq.deviceAddress());
                h.regs.write32(CC, b.cc());
                h.step();
                assertEquals(2, h.csts() & 3, b.name() + ": CFS and not RDY");
                assertTrue(h.ctrl.fatalReason().contains(b.reason()), b.name() + ": " + h.ctrl.fatalReason());
                h.regs.write32(CC, 0);
                h.step();
                assertEquals(0, h.csts(), b.name() + ": reset clears CFS");
                assertNull(h.ctrl.fatalReason());
                h.enable(4);
                h.admin.run(Sqe.of(0x06).prp1(h.pool.allocate(4096).deviceAddress()).cdw10(1)).assertOk("identify");
            }
        }
    }

    @Test
    void unmappedAdminQueueAtEnableIsFatalAndTheFaultIsRecorded() {
        try (NvmeTestHost h = NvmeTestHost.stepped(config().build())) {
            DmaBuffer acq = h.pool.allocate(4096);
            DmaBuffer asq = h.pool.allocate(4096);
            long stale = asq.deviceAddress();
            asq.close();
            h.regs.write32(AQA, 3 | 3 << 16);
            h.regs.write64(ASQ, stale);
            h.regs.write64(ACQ, acq.deviceAddress());
            h.regs.write32(CC, NvmeTestHost.CC_ENABLE);
            h.step();
            assertEquals(2, h.csts() & 3);
            assertTrue(h.ctrl.fatalReason().contains("admin queues are not reachable"), h.ctrl.fatalReason());
            List<IommuFault> faults = h.iommu().faults();
            assertEquals(1, faults.size());
            assertEquals(stale, faults.getFirst().deviceAddress());
        }
    }

    @Test
    void shutdownNotificationCompletesAndStopsProcessing() {
        MockNvmeController.Config c = config().shutdownDelay(Duration.ofMillis(20)).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            h.regs.write32(CC, NvmeTestHost.CC_ENABLE | NvmeRegs.SHN_NORMAL << 14);
            h.ctrl.step();
            int shst = (h.csts() >>> 2) & 3;
            assertEquals(NvmeRegs.SHST_OCCURRING, shst, "shutdown processing first");
            assertTrue(h.awaitCsts(0xc, NvmeRegs.SHST_COMPLETE << 2), "shutdown completes");
            assertEquals(1, h.csts() & 1, "still ready");
            assertEquals(1, h.ctrl.shutdowns());
            h.admin.submit(Sqe.of(0x06).prp1(h.pool.allocate(4096).deviceAddress()).cdw10(1));
            h.admin.assertNoCompletion();
            assertEquals(0, h.ctrl.adminCommandsReceived(0x06), "nothing is fetched after shutdown");
            h.disable();
            assertEquals(0, h.csts(), "reset clears SHST");
            h.enable(4);
            h.admin.run(Sqe.of(0x06).prp1(h.pool.allocate(4096).deviceAddress()).cdw10(1)).assertOk("identify");
        }
    }

    @Test
    void controllerResetDiscardsQueuesAndOutstandingCommands() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            FaultRule drop = h.ctrl.dropCommands(CommandView.io(0x02), 1);
            q.submit(Sqe.rw(0x02, 1, 0, 8, data.deviceAddress(), 0));
            h.step();
            assertEquals(1, drop.hits());
            assertEquals(1, h.ctrl.heldCommands().size());
            // More commands written and rung, never fetched: the reset discards them too.
            h.device.setBusMaster(false);
            q.submit(Sqe.rw(0x02, 1, 8, 8, data.deviceAddress(), 0));
            h.step();
            assertEquals(1, h.ctrl.ioCommandsReceived(0x02));
            h.device.setBusMaster(true);
            h.disable();
            assertEquals(1, h.ctrl.controllerResets());
            assertTrue(h.ctrl.heldCommands().isEmpty(), "held commands discarded");
            assertEquals(0, h.regs.read32(h.sqDoorbell(1)), "doorbells cleared");
            assertEquals(0, h.regs.read32(h.sqDoorbell(0)));
            h.step();
            q.assertNoCompletion();
            assertEquals(1, h.ctrl.ioCommandsReceived(0x02), "the second read was never fetched");
            h.enable(8);
            Cqe c = h.admin.run(Sqe.of(0x04).cdw10(1));
            assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, c.nvmeStatus(), "I/O queues are gone after reset");
            h.createIoQueues(1, 16, -1).run(Sqe.rw(0x02, 1, 0, 8, data.deviceAddress(), 0)).assertOk("read");
        }
    }

    @Test
    void functionLevelResetRestoresPowerOnState() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            h.createIoQueues(1, 8, -1);
            h.device.reset();
            assertEquals(1, h.ctrl.functionLevelResets());
            assertEquals(0, h.csts());
            assertEquals(0, h.regs.read32(CC));
            assertEquals(0, h.regs.read32(AQA));
            assertEquals(0x00010400, h.regs.read32(NvmeRegs.VS.offset()));
            h.enable(4);
            assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, h.admin.run(Sqe.of(0x00).cdw10(1)).nvmeStatus());
        }
    }

    @Test
    void doorbellStrideSpacesTheDoorbells() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().doorbellStride(3).build())) {
            assertEquals(0x1000 + 2 * 32, h.sqDoorbell(1));
            Queue q = h.createIoQueues(1, 8, -1);
            DmaBuffer data = h.pool.allocate(4096);
            q.run(Sqe.rw(0x01, 1, 0, 1, data.deviceAddress(), 0)).assertOk("write with stride 32");
            assertEquals(0, h.regs.read32(0x1000 + 8), "nothing lands between strided doorbells");
        }
    }

    @Test
    void configBuilderRejectsBadValues() {
        assertThrows(IllegalArgumentException.class, () -> config().namespace(10, 1024));
        assertThrows(IllegalArgumentException.class, () -> config().namespace(0, 512));
        assertThrows(IllegalArgumentException.class, () -> config().maxQueueEntries(1));
        assertThrows(IllegalArgumentException.class, () -> config().mdts(17));
        assertThrows(IllegalArgumentException.class, () -> config().msixVectors(0));
        assertThrows(IllegalArgumentException.class, () -> config().doorbellStride(9));
        assertThrows(IllegalArgumentException.class, () -> config().serial("x".repeat(21)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config().model("caf\u00e9"));
        assertTrue(e.getMessage().contains("printable ASCII"), e.getMessage());
        MockNvmeController.Config d = config().build();
        assertEquals(1, d.namespaces().size(), "a default namespace");
        assertEquals(9, d.msixVectors(), "default vectors: pairs + 1");
        assertFalse(d.nullMode());
    }
}
