package dev.ferrum.nvme.mock;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.mock.NvmeTestHost.Cqe;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;
import dev.ferrum.sys.nvme.nvme_smart_log;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;

import static dev.ferrum.nvme.mock.NvmeTestHost.LE_INT;
import static dev.ferrum.nvme.mock.NvmeTestHost.LE_LONG;
import static dev.ferrum.nvme.mock.NvmeTestHost.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FaultInjectionTest {
    static final int WRITE = 0x01;
    static final int READ = 0x02;

    private static NvmeTestHost host() {
        return NvmeTestHost.enabled(MockNvmeController.Config.builder().namespace(1024, 512).build());
    }

    @Test
    void injectedStatusFailsMatchingCommandsOnly() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer buf = h.patterned(4096, 1);
            FaultRule rule = h.ctrl.injectStatus(CommandView.io(READ), NvmeStatus.UNRECOVERED_READ_ERROR, true, 2);
            q.run(Sqe.rw(WRITE, 1, 0, 1, buf.deviceAddress(), 0)).assertOk("writes are not matched");
            for (int i = 0; i < 2; i++) {
                Cqe c = q.run(Sqe.rw(READ, 1, 7, 1, buf.deviceAddress(), 0));
                assertEquals(NvmeStatus.UNRECOVERED_READ_ERROR, c.nvmeStatus());
                assertTrue(c.dnr());
            }
            q.run(Sqe.rw(READ, 1, 7, 1, buf.deviceAddress(), 0)).assertOk("the rule is used up");
            assertEquals(2, rule.hits());
            assertEquals(0, rule.remaining());
            assertFalse(rule.isActive());
            assertTrue(h.ctrl.faultRules().isEmpty());
            MemorySegment smart = AdminCommandsTest.logPage(h, 0x02, 512, 0, false, NvmeStatus.SUCCESS);
            assertEquals(2, smart.get(LE_LONG, nvme_smart_log.media_errors$offset()), "media errors counted");
            assertEquals(2, smart.get(LE_LONG, nvme_smart_log.num_err_log_entries$offset()));
            MemorySegment log = AdminCommandsTest.logPage(h, 0x01, 64, 0, false, NvmeStatus.SUCCESS);
            assertEquals(7, log.get(LE_LONG, 16), "the error log names the LBA");
        }
    }

    @Test
    void aFailedWriteWritesNothingAndRawStatusesCanBeInjected() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer buf = h.patterned(4096, 2);
            h.ctrl.injectStatus(c -> c.opcode() == WRITE && c.slba() == 40, NvmeStatus.WRITE_FAULT, false, 1);
            Cqe failed = q.run(Sqe.rw(WRITE, 1, 40, 8, buf.deviceAddress(), 0));
            assertEquals(NvmeStatus.WRITE_FAULT, failed.nvmeStatus());
            assertFalse(failed.dnr());
            assertArrayEquals(new byte[4096], h.ctrl.readBlocks(1, 40, 8), "the failed write changed nothing");
            h.ctrl.injectStatus(CommandView.admin(0x06), 7, 0xc3, false, 1);
            Cqe vendor = h.admin.run(Sqe.of(0x06).prp1(buf.deviceAddress()).cdw10(1));
            assertEquals(7, vendor.sct());
            assertEquals(0xc3, vendor.sc());
            assertEquals(NvmeStatus.UNKNOWN, vendor.nvmeStatus());
            assertThrows(IllegalArgumentException.class,
                    () -> h.ctrl.injectStatus(CommandView.any(), NvmeStatus.SUCCESS, false, 1));
            assertThrows(IllegalArgumentException.class, () -> h.ctrl.injectStatus(CommandView.any(), 8, 1, false, 1));
            assertThrows(IllegalArgumentException.class, () -> h.ctrl.dropCommands(CommandView.any(), 0));
        }
    }

    @Test
    void droppedCommandsNeverCompleteAndAreListedAsHeld() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer buf = h.pool.allocate(8192);
            FaultRule drop = h.ctrl.dropCommands(c -> c.opcode() == READ && c.blocks() == 16, FaultRule.UNLIMITED);
            int lost = q.submit(Sqe.rw(READ, 1, 100, 16, buf.deviceAddress(), buf.deviceAddress(4096)));
            q.assertNoCompletion();
            q.run(Sqe.rw(READ, 1, 100, 8, buf.deviceAddress(), 0)).assertOk("other reads still complete");
            List<CommandView> held = h.ctrl.heldCommands();
            assertEquals(1, held.size());
            CommandView v = held.getFirst();
            assertEquals(1, v.queueId());
            assertEquals(lost, v.commandId());
            assertEquals(READ, v.opcode());
            assertEquals(1, v.nsid());
            assertEquals(100, v.slba());
            assertEquals(16, v.blocks());
            assertEquals(buf.deviceAddress(), v.prp1());
            assertEquals(drop.remaining(), FaultRule.UNLIMITED);
            drop.cancel();
            q.run(Sqe.rw(READ, 1, 100, 16, buf.deviceAddress(), buf.deviceAddress(4096))).assertOk("cancelled");
            assertEquals(1, drop.hits());
            h.disable();
            assertTrue(h.ctrl.heldCommands().isEmpty(), "a reset discards held commands");
            q.assertNoCompletion();
        }
    }

    @Test
    void delayedCommandsCompleteLaterAndOutOfOrder() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.patterned(4096, 3);
            FaultRule delay = h.ctrl.delayCommands(CommandView.io(WRITE), Duration.ofMillis(50), 1);
            long start = System.nanoTime();
            int slow = q.submit(Sqe.rw(WRITE, 1, 0, 8, data.deviceAddress(), 0));
            h.step();
            assertArrayEquals(new byte[4096], h.ctrl.readBlocks(1, 0, 8), "not executed before its time");
            assertEquals(1, h.ctrl.heldCommands().size());
            int fast = q.submit(Sqe.rw(READ, 1, 512, 1, h.pool.allocate(4096).deviceAddress(), 0));
            Cqe first = q.await();
            assertEquals(fast, first.cid(), "the later command completes first");
            Cqe second = q.await();
            assertEquals(slow, second.cid());
            second.assertOk("delayed write");
            assertTrue(System.nanoTime() - start >= Duration.ofMillis(50).toNanos());
            assertArrayEquals(bytes(data.segment()), h.ctrl.readBlocks(1, 0, 8), "executed when due");
            assertEquals(1, delay.hits());
            assertTrue(h.ctrl.heldCommands().isEmpty());
        }
    }

    @Test
    void delayAndStatusCombine() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            h.ctrl.delayCommands(CommandView.anyIo(), Duration.ofMillis(20), 1);
            h.ctrl.injectStatus(CommandView.anyIo(), NvmeStatus.INTERNAL_ERROR, false, 1);
            int cid = q.submit(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0));
            q.assertNoCompletion();
            Cqe c = q.await();
            assertEquals(cid, c.cid());
            assertEquals(NvmeStatus.INTERNAL_ERROR, c.nvmeStatus());
        }
    }

    @Test
    void corruptedCompletionEntries() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            h.ctrl.dropCommands(c -> c.commandId() == 500, 1); // an outstanding CID the corruption must avoid

            h.ctrl.corruptCompletions(c -> c.commandId() == 7, CompletionCorruption.BAD_COMMAND_ID, 1);
            q.submit(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0).cid(500));
            int cid = q.submit(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0).cid(7));
            Cqe bad = q.await();
            assertNotEquals(cid, bad.cid());
            assertNotEquals(500, bad.cid(), "not a CID that is outstanding either");
            bad.assertOk("the command itself succeeded");
            q.assertNoCompletion(); // the real completion never comes

            h.ctrl.corruptCompletions(CommandView.anyIo(), CompletionCorruption.BAD_SQ_HEAD, 1);
            Cqe head = q.run(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0));
            assertEquals(16, head.sqHead(), "SQ head = queue size: out of range");

            h.ctrl.corruptCompletions(CommandView.anyIo(), CompletionCorruption.BAD_SQ_ID, 1);
            Cqe id = q.run(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0));
            assertEquals(0xffff, id.sqId());

            h.ctrl.corruptCompletions(CommandView.anyIo(), CompletionCorruption.DUPLICATE, 1);
            int dup = q.run(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0)).cid();
            Cqe again = q.await();
            assertEquals(dup, again.cid(), "the same completion twice");
            q.assertNoCompletion();

            h.ctrl.corruptCompletions(CommandView.anyIo(), CompletionCorruption.WRONG_PHASE, 1);
            int hidden = q.submit(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0));
            h.step();
            assertNull(q.poll(), "an entry with the old phase tag is not new to the host");
            MemorySegment cq = q.cq.segment();
            int dw3 = cq.get(LE_INT, 16L * q.cqHead + 12);
            assertEquals(hidden, dw3 & 0xffff, "but it was written");
            int next = q.submit(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0));
            h.step();
            assertNull(q.poll(), "the host is stuck at the hidden entry");
            int nextDw3 = cq.get(LE_INT, 16L * (q.cqHead + 1) + 12);
            assertEquals(next, nextDw3 & 0xffff, "the controller moved on");
            assertEquals(q.phase, (nextDw3 >>> 16) & 1);
        }
    }

    @Test
    void fatalSetsCfsAtOnceAndStopsTheControllerUntilReset() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            h.ctrl.fatal("boom");
            assertEquals(3, h.csts() & 3, "CFS visible before any step, RDY still set");
            assertEquals("injected: boom", h.ctrl.fatalReason());
            q.submit(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0));
            q.assertNoCompletion();
            assertEquals(0, h.ctrl.ioCommandsReceived(READ), "nothing fetched while fatal");
            h.disable();
            assertEquals(0, h.csts());
            assertNull(h.ctrl.fatalReason());
            h.enable(8);
            h.createIoQueues(1, 16, -1).run(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0)).assertOk("recovered");
        }
    }

    @Test
    void statisticsAndRecording() {
        try (NvmeTestHost h = host()) {
            h.ctrl.recordCommands(3);
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            q.run(Sqe.rw(WRITE, 1, 5, 2, data.deviceAddress(), 0)).assertOk("write");
            q.run(Sqe.rw(READ, 1, 5, 2, data.deviceAddress(), 0)).assertOk("read");
            q.run(Sqe.rw(READ, 1, 6, 1, data.deviceAddress(), 0)).assertOk("read");
            assertEquals(1, h.ctrl.adminCommandsReceived(0x05));
            assertEquals(1, h.ctrl.adminCommandsCompleted(0x01), "Create I/O SQ (admin opcode 1)");
            assertEquals(1, h.ctrl.ioCommandsReceived(WRITE), "Write (I/O opcode 1) counted apart");
            assertEquals(2, h.ctrl.ioCommandsReceived(READ));
            assertEquals(2, h.ctrl.ioCommandsCompleted(READ));
            List<CommandView> rec = h.ctrl.recordedCommands();
            assertEquals(3, rec.size(), "the last 3 only");
            assertEquals(WRITE, rec.get(0).opcode());
            assertEquals(5, rec.get(0).slba());
            assertEquals(2, rec.get(0).blocks());
            assertEquals(6, rec.get(2).slba());
            h.ctrl.recordCommands(0);
            assertTrue(h.ctrl.recordedCommands().isEmpty());
            h.disable();
            h.enable(8);
            assertEquals(1, h.ctrl.controllerResets());
        }
    }

    @Test
    void aThrowingPredicateIsNoMatch() {
        try (NvmeTestHost h = host()) {
            Queue q = h.createIoQueues(1, 16, -1);
            FaultRule r = h.ctrl.injectStatus(c -> {
                throw new IllegalStateException("test predicate bug");
            }, NvmeStatus.INTERNAL_ERROR, false, FaultRule.UNLIMITED);
            q.run(Sqe.rw(READ, 1, 0, 1, h.pool.allocate(4096).deviceAddress(), 0)).assertOk("unaffected");
            assertEquals(0, r.hits());
            h.ctrl.clearFaultRules();
            assertFalse(r.isActive());
        }
    }
}
