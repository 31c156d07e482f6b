package dev.ferrum.nvme.mock;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.mock.NvmeTestHost.Cqe;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;
import dev.ferrum.sys.nvme.nvme_error_log;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static dev.ferrum.nvme.mock.NvmeTestHost.LE_LONG;
import static dev.ferrum.nvme.mock.NvmeTestHost.LE_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A host that writes nonsense: the controller must never crash, index out of bounds, or hang. */
class HostileHostTest {
    private static NvmeTestHost host() {
        return NvmeTestHost.enabled(MockNvmeController.Config.builder().namespace(4096, 512).maxIoQueuePairs(4)
                .build());
    }

    private static void assertRecovers(NvmeTestHost h) {
        h.disable();
        h.enable(8);
        DmaBuffer data = h.pool.allocate(4096);
        h.createIoQueues(1, 16, -1).run(Sqe.rw(0x02, 1, 0, 1, data.deviceAddress(), 0)).assertOk("after reset");
    }

    @Test
    void submissionTailOutsideTheQueueIsFatal() {
        try (NvmeTestHost h = host()) {
            h.createIoQueues(1, 16, -1);
            h.regs.write32(h.sqDoorbell(1), 16);
            h.step();
            assertEquals(2, h.csts() & 2, "CFS");
            assertTrue(h.ctrl.fatalReason().contains("SQ 1 tail doorbell written with 16"), h.ctrl.fatalReason());
            assertEquals(1, h.ctrl.invalidDoorbellWrites());
            assertRecovers(h);
        }
        try (NvmeTestHost h = host()) {
            h.regs.write32(h.sqDoorbell(0), -1);
            h.step();
            assertTrue(h.ctrl.fatalReason().contains("4294967295"), h.ctrl.fatalReason());
            assertRecovers(h);
        }
    }

    @Test
    void completionHeadOutsideTheQueueIsFatal() {
        try (NvmeTestHost h = host()) {
            h.createIoQueues(1, 16, -1);
            h.regs.write32(h.cqDoorbell(1), 70_000);
            h.step();
            assertEquals(2, h.csts() & 2);
            assertTrue(h.ctrl.fatalReason().contains("CQ 1 head doorbell written with 70000"), h.ctrl.fatalReason());
            assertRecovers(h);
        }
    }

    @Test
    void completionHeadPastTheTailIsIgnoredAndReported() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            q.run(Sqe.rw(0x02, 1, 0, 1, data.deviceAddress(), 0)).assertOk("one completion: tail 1");
            int aer = h.admin.submit(Sqe.of(0x0c));
            h.regs.write32(h.cqDoorbell(1), 5); // releases entries 1..4 that were never posted
            h.step();
            Cqe event = h.admin.await();
            assertEquals(aer, event.cid());
            assertEquals(0x01_01_00, event.dw0() & 0xffffff, "error event, invalid doorbell value, log page 1");
            assertEquals(0, h.csts() & 2, "not fatal");
            MemorySegment log = AdminCommandsTest.logPage(h, 0x01, 64, 0, false, NvmeStatus.SUCCESS);
            assertEquals(1, log.get(LE_SHORT, nvme_error_log.sqid$offset()), "the queue");
            assertEquals(0xffff, log.get(LE_SHORT, nvme_error_log.cmdid$offset()) & 0xffff, "no command");
            // The controller kept its own head: a correct host can go on.
            q.release();
            for (int i = 0; i < 20; i++) {
                q.run(Sqe.rw(0x02, 1, i, 1, data.deviceAddress(), 0)).assertOk("read " + i);
            }
            assertEquals(1, h.ctrl.invalidDoorbellWrites(), "reported once");
        }
    }

    @Test
    void doorbellOfAQueueThatDoesNotExistIsReportedAndCleared() {
        try (NvmeTestHost h = host()) {
            int aer = h.admin.submit(Sqe.of(0x0c));
            h.regs.write32(h.sqDoorbell(3), 1);
            h.step();
            Cqe event = h.admin.await();
            assertEquals(aer, event.cid());
            assertEquals(0x01_00_00, event.dw0() & 0xffffff, "error event, invalid doorbell register, log 1");
            assertEquals(0, h.regs.read32(h.sqDoorbell(3)), "cleared");
            h.regs.write32(h.cqDoorbell(4), 9);
            h.step();
            assertEquals(0, h.regs.read32(h.cqDoorbell(4)));
            assertEquals(2, h.ctrl.invalidDoorbellWrites());
            assertEquals(0, h.csts() & 2);
        }
    }

    @Test
    void randomDoorbellWritesNeverBreakTheModel() {
        Random r = new Random(0xD00B);
        for (int round = 0; round < 5; round++) {
            try (NvmeTestHost h = host()) {
                h.createIoQueues(1, 16, -1);
                h.createIoQueues(2, 4, -1);
                long area = 2L * 5 * 4;
                for (int i = 0; i < 500; i++) {
                    long offset = 0x1000 + 4L * r.nextInt((int) (area / 4) + 4);
                    int value = switch (r.nextInt(4)) {
                        case 0 -> r.nextInt(20);
                        case 1 -> -1 - r.nextInt(3);
                        case 2 -> r.nextInt();
                        default -> r.nextInt(4);
                    };
                    h.regs.write32(offset, value);
                    h.ctrl.stepUntilIdle(100);
                }
                assertTrue(h.ctrl.invalidDoorbellWrites() > 0, "the fuzzing hit invalid values");
                assertRecovers(h);
            }
        }
    }

    @Test
    void garbageSubmissionEntriesAllCompleteWithSomeStatus() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 64, -1);
            DmaBuffer valid = h.pool.allocate(64 * 1024);
            Random r = new Random(42);
            int submitted = 0;
            int completed = 0;
            int succeeded = 0;
            for (int batch = 0; batch < 20; batch++) {
                for (int i = 0; i < 10; i++) {
                    MemorySegment e = q.sq.segment().asSlice(64L * q.sqTail, 64);
                    for (long b = 0; b < 64; b += 8) {
                        e.set(LE_LONG, b, r.nextLong());
                    }
                    if (r.nextBoolean()) { // half the time: plausible commands with random fields
                        e.set(ValueLayout.JAVA_BYTE, 0, (byte) r.nextInt(10));
                        e.set(ValueLayout.JAVA_BYTE, 1, (byte) 0);
                        e.set(NvmeTestHost.LE_INT, 4, r.nextInt(3));
                        e.set(LE_LONG, 24, valid.deviceAddress() + 4L * r.nextInt(4096));
                        e.set(LE_LONG, 32, valid.deviceAddress(4096L * r.nextInt(16)));
                        e.set(NvmeTestHost.LE_INT, 44, 0);
                        e.set(NvmeTestHost.LE_INT, 40, r.nextInt(5000));
                        e.set(NvmeTestHost.LE_INT, 48, r.nextInt(64));
                    }
                    q.sqTail = (q.sqTail + 1) % q.entries;
                    submitted++;
                }
                q.ring();
                h.step();
                Cqe c;
                while ((c = q.poll()) != null) {
                    completed++;
                    if (c.nvmeStatus() == NvmeStatus.SUCCESS) {
                        succeeded++;
                    }
                    assertTrue(c.sqId() == 1 && c.sqHead() < 64, c.toString());
                }
                q.release();
            }
            assertEquals(submitted, completed, "every entry completed, whatever it held");
            assertTrue(succeeded > 0, "some plausible ones succeeded");
            assertEquals(0, h.csts() & 2, "garbage commands are command errors, not controller faults");
            assertNotNull(h.admin);
            assertRecovers(h);
        }
    }

    @Test
    void noDmaWhileBusMasteringIsOff() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            h.device.setBusMaster(false);
            int cid = q.submit(Sqe.rw(0x02, 1, 0, 1, data.deviceAddress(), 0));
            q.assertNoCompletion();
            assertEquals(0, h.ctrl.ioCommandsReceived(0x02), "not even fetched");
            assertTrue(h.iommu().faults().isEmpty());
            h.device.setBusMaster(true);
            assertEquals(cid, q.await().cid());
        }
    }
}
