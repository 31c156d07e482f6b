package dev.ferrum.nvme.mock;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.mock.NvmeTestHost.Cqe;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;
import dev.ferrum.sys.nvme.nvme_error_log;
import dev.ferrum.sys.nvme.nvme_id_ctrl;
import dev.ferrum.sys.nvme.nvme_id_ns;
import dev.ferrum.sys.nvme.nvme_smart_log;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static dev.ferrum.nvme.mock.NvmeTestHost.LE_INT;
import static dev.ferrum.nvme.mock.NvmeTestHost.LE_LONG;
import static dev.ferrum.nvme.mock.NvmeTestHost.LE_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdminCommandsTest {
    static final int IDENTIFY = 0x06;
    static final int GET_LOG_PAGE = 0x02;
    static final int SET_FEATURES = 0x09;
    static final int GET_FEATURES = 0x0a;
    static final int ABORT = 0x08;
    static final int AER = 0x0c;

    private static MockNvmeController.Config.Builder config() {
        return MockNvmeController.Config.builder();
    }

    static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xff;
    }

    static int u16(MemorySegment s, long off) {
        return s.get(LE_SHORT, off) & 0xffff;
    }

    static String ascii(MemorySegment s, long off, int len) {
        return new String(s.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
    }

    static MemorySegment identify(NvmeTestHost h, int cns, int nsid, NvmeStatus expect) {
        DmaBuffer b = h.pool.allocate(4096);
        b.segment().fill((byte) 0x5a);
        Cqe c = h.admin.run(Sqe.of(IDENTIFY).nsid(nsid).prp1(b.deviceAddress()).cdw10(cns));
        assertEquals(expect, c.nvmeStatus(), "Identify CNS " + cns + " NSID " + nsid);
        return b.segment();
    }

    /** Get Log Page of {@code bytes} (a multiple of 4) at {@code offset}. */
    static MemorySegment logPage(NvmeTestHost h, int lid, int bytes, long offset, boolean retain, NvmeStatus expect) {
        DmaBuffer b = h.pool.allocate(Math.max(bytes, 4096));
        b.segment().fill((byte) 0x5a);
        int numd = bytes / 4 - 1;
        Cqe c = h.admin.run(Sqe.of(GET_LOG_PAGE).nsid(0xffffffff).prp1(b.deviceAddress())
                .cdw10(lid | (retain ? 1 << 15 : 0) | (numd & 0xffff) << 16).cdw11(numd >>> 16)
                .cdw12((int) offset).cdw13((int) (offset >>> 32)));
        assertEquals(expect, c.nvmeStatus(), "Get Log Page " + lid);
        return b.segment();
    }

    @Test
    void identifyController() {
        MockNvmeController.Config c = config().serial("SN-42").model("Model X").firmware("FW9").mdts(3)
                .controllerId(7).abortLimit(2).asyncEventLimit(3).errorLogEntries(16).namespace(1000, 512)
                .namespace(100, 4096).writeZeroes(false).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            MemorySegment id = identify(h, 1, 0, NvmeStatus.SUCCESS);
            assertEquals(0x1de5, u16(id, nvme_id_ctrl.vid$offset()));
            assertEquals(0x1de5, u16(id, nvme_id_ctrl.ssvid$offset()));
            assertEquals("SN-42" + " ".repeat(15), ascii(id, nvme_id_ctrl.sn$offset(), 20));
            assertEquals("Model X" + " ".repeat(33), ascii(id, nvme_id_ctrl.mn$offset(), 40));
            assertEquals("FW9     ", ascii(id, nvme_id_ctrl.fr$offset(), 8));
            assertEquals(3, u8(id, nvme_id_ctrl.mdts$offset()));
            assertEquals(7, u16(id, nvme_id_ctrl.cntlid$offset()));
            assertEquals(0x00010400, id.get(LE_INT, nvme_id_ctrl.ver$offset()));
            assertEquals(1, u8(id, nvme_id_ctrl.acl$offset()));
            assertEquals(2, u8(id, nvme_id_ctrl.aerl$offset()));
            assertEquals(15, u8(id, nvme_id_ctrl.elpe$offset()));
            assertEquals(0x04, u8(id, nvme_id_ctrl.lpa$offset()));
            assertEquals(0x66, u8(id, nvme_id_ctrl.sqes$offset()));
            assertEquals(0x44, u8(id, nvme_id_ctrl.cqes$offset()));
            assertEquals(2, id.get(LE_INT, nvme_id_ctrl.nn$offset()));
            assertEquals(0x04, u16(id, nvme_id_ctrl.oncs$offset()), "DSM only: Write Zeroes disabled");
            assertEquals(0x07, u8(id, nvme_id_ctrl.vwc$offset()));
            assertEquals(1000L * 512 + 100L * 4096, id.get(LE_LONG, nvme_id_ctrl.tnvmcap$offset()));
            assertTrue(ascii(id, nvme_id_ctrl.subnqn$offset(), 64).startsWith("nqn.2024-01.dev.ferrum:nvme-mock:SN-42"));
            assertEquals(0, u8(id, 4095), "vendor specific area zeroed, not left as it was");
        }
    }

    @Test
    void identifyNamespacesInBothLbaFormats() {
        MockNvmeController.Config c = config().namespace(1_000_000, 512).namespace(2048, 4096).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            MemorySegment ns1 = identify(h, 0, 1, NvmeStatus.SUCCESS);
            assertEquals(1_000_000L, ns1.get(LE_LONG, nvme_id_ns.nsze$offset()));
            assertEquals(1_000_000L, ns1.get(LE_LONG, nvme_id_ns.ncap$offset()));
            assertEquals(1_000_000L, ns1.get(LE_LONG, nvme_id_ns.nuse$offset()));
            assertEquals(1, u8(ns1, nvme_id_ns.nlbaf$offset()), "two formats, 0's based");
            assertEquals(0, u8(ns1, nvme_id_ns.flbas$offset()) & 0xf);
            long lbaf = nvme_id_ns.lbaf$offset();
            assertEquals(9, u8(ns1, lbaf + 2), "format 0: 512-byte blocks");
            assertEquals(12, u8(ns1, lbaf + 4 + 2), "format 1: 4096-byte blocks");
            assertEquals(0x09, u8(ns1, nvme_id_ns.dlfeat$offset()), "deallocated reads zero; WZ may deallocate");
            MemorySegment ns2 = identify(h, 0, 2, NvmeStatus.SUCCESS);
            assertEquals(2048L, ns2.get(LE_LONG, nvme_id_ns.nsze$offset()));
            assertEquals(1, u8(ns2, nvme_id_ns.flbas$offset()) & 0xf);
            int format = u8(ns2, nvme_id_ns.flbas$offset()) & 0xf;
            assertEquals(4096, 1 << u8(ns2, lbaf + 4L * format + 2));
            identify(h, 0, 3, NvmeStatus.INVALID_NAMESPACE);
            identify(h, 0, 0, NvmeStatus.INVALID_NAMESPACE);
        }
    }

    @Test
    void identifyActiveNamespaceListAndBadCns() {
        MockNvmeController.Config c = config().namespace(8, 512).namespace(8, 512).namespace(8, 4096).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            MemorySegment all = identify(h, 2, 0, NvmeStatus.SUCCESS);
            assertEquals(1, all.get(LE_INT, 0));
            assertEquals(2, all.get(LE_INT, 4));
            assertEquals(3, all.get(LE_INT, 8));
            assertEquals(0, all.get(LE_INT, 12));
            MemorySegment after1 = identify(h, 2, 1, NvmeStatus.SUCCESS);
            assertEquals(2, after1.get(LE_INT, 0));
            assertEquals(3, after1.get(LE_INT, 4));
            assertEquals(0, after1.get(LE_INT, 8));
            identify(h, 2, 0xfffffffe, NvmeStatus.INVALID_NAMESPACE);
            DmaBuffer b = h.pool.allocate(4096);
            Cqe bad = h.admin.run(Sqe.of(IDENTIFY).prp1(b.deviceAddress()).cdw10(0x1f));
            assertEquals(NvmeStatus.INVALID_FIELD, bad.nvmeStatus());
            assertTrue(bad.dnr());
        }
    }

    @Test
    void numberOfQueuesGrantsAtMostTheConfiguredPairs() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().maxIoQueuePairs(4).build())) {
            Cqe c = h.admin.run(Sqe.of(SET_FEATURES).cdw10(7).cdw11(15 | 15 << 16));
            c.assertOk("set number of queues");
            assertEquals(3, c.dw0() & 0xffff, "4 SQs granted of 16 asked");
            assertEquals(3, c.dw0() >>> 16, "4 CQs granted");
            c = h.admin.run(Sqe.of(SET_FEATURES).cdw10(7).cdw11(1 | 2 << 16));
            assertEquals(1, c.dw0() & 0xffff, "fewer asked: fewer granted");
            assertEquals(2, c.dw0() >>> 16);
            assertEquals(1 | 2 << 16, h.admin.run(Sqe.of(GET_FEATURES).cdw10(7)).dw0());
            assertEquals(3 | 3 << 16, h.admin.run(Sqe.of(GET_FEATURES).cdw10(7 | 1 << 8)).dw0(), "default");
            h.createIoQueues(2, 8, -1);
            DmaBuffer q = h.pool.allocate(4096);
            h.admin.run(Sqe.of(0x05).prp1(q.deviceAddress()).cdw10(3 | 7 << 16).cdw11(1)).assertOk("CQ 3 of 3");
            Cqe cq4 = h.admin.run(Sqe.of(0x05).prp1(q.deviceAddress()).cdw10(4 | 7 << 16).cdw11(1));
            assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, cq4.nvmeStatus(), "only 3 CQs granted");
            DmaBuffer sq = h.pool.allocate(4096);
            Cqe sq3 = h.admin.run(Sqe.of(0x01).prp1(sq.deviceAddress()).cdw10(3 | 7 << 16).cdw11(1 | 3 << 16));
            assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER, sq3.nvmeStatus(), "only 2 SQs granted");
            Cqe late = h.admin.run(Sqe.of(SET_FEATURES).cdw10(7).cdw11(3 | 3 << 16));
            assertEquals(NvmeStatus.COMMAND_SEQUENCE_ERROR, late.nvmeStatus(), "not after I/O queues exist");
            Cqe invalid = h.admin.run(Sqe.of(SET_FEATURES).cdw10(7).cdw11(0xffff));
            assertEquals(NvmeStatus.INVALID_FIELD, invalid.nvmeStatus());
        }
    }

    @Test
    void otherFeaturesAreStoredAndReturned() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            assertEquals(1, h.admin.run(Sqe.of(GET_FEATURES).cdw10(6)).dw0(), "write cache enabled by default");
            h.admin.run(Sqe.of(SET_FEATURES).cdw10(6).cdw11(0)).assertOk("disable write cache");
            assertEquals(0, h.admin.run(Sqe.of(GET_FEATURES).cdw10(6)).dw0());
            h.admin.run(Sqe.of(SET_FEATURES).cdw10(8).cdw11(0x0a04)).assertOk("coalescing");
            assertEquals(0x0a04, h.admin.run(Sqe.of(GET_FEATURES).cdw10(8)).dw0());
            h.admin.run(Sqe.of(SET_FEATURES).cdw10(0x0b).cdw11(0x1ff)).assertOk("async event config");
            assertEquals(0x1ff, h.admin.run(Sqe.of(GET_FEATURES).cdw10(0x0b)).dw0());
            assertEquals(0, h.admin.run(Sqe.of(GET_FEATURES).cdw10(0x0b | 1 << 8)).dw0(), "default value");
            h.admin.run(Sqe.of(SET_FEATURES).cdw10(4).cdw11(350)).assertOk("over-temperature threshold");
            assertEquals(350, h.admin.run(Sqe.of(GET_FEATURES).cdw10(4)).dw0() & 0xffff);
            h.admin.run(Sqe.of(SET_FEATURES).cdw10(9).cdw11(3 | 1 << 16)).assertOk("vector 3 coalescing off");
            assertEquals(3 | 1 << 16, h.admin.run(Sqe.of(GET_FEATURES).cdw10(9).cdw11(3)).dw0());
            assertEquals(NvmeStatus.INVALID_FIELD, h.admin.run(Sqe.of(GET_FEATURES).cdw10(9).cdw11(999)).nvmeStatus());
            assertEquals(4, h.admin.run(Sqe.of(GET_FEATURES).cdw10(8 | 3 << 8)).dw0(), "changeable, not saveable");
            assertEquals(NvmeStatus.FEATURE_NOT_SAVEABLE,
                    h.admin.run(Sqe.of(SET_FEATURES).cdw10(8 | 1 << 31).cdw11(1)).nvmeStatus());
            assertEquals(NvmeStatus.INVALID_FIELD, h.admin.run(Sqe.of(SET_FEATURES).cdw10(0x7f)).nvmeStatus());
            assertEquals(NvmeStatus.INVALID_FIELD, h.admin.run(Sqe.of(GET_FEATURES).cdw10(0x7f)).nvmeStatus());
            assertEquals(NvmeStatus.INVALID_FIELD, h.admin.run(Sqe.of(SET_FEATURES).cdw10(2).cdw11(1)).nvmeStatus(),
                    "power state 1 does not exist");
            h.disable();
            h.enable(4);
            assertEquals(0, h.admin.run(Sqe.of(GET_FEATURES).cdw10(8)).dw0(), "features reset with the controller");
            assertEquals(1, h.admin.run(Sqe.of(GET_FEATURES).cdw10(6)).dw0());
        }
        try (NvmeTestHost h = NvmeTestHost.enabled(config().volatileWriteCache(false).build())) {
            assertEquals(NvmeStatus.INVALID_FIELD, h.admin.run(Sqe.of(SET_FEATURES).cdw10(6).cdw11(1)).nvmeStatus(),
                    "no write cache to enable");
        }
    }

    @Test
    void queueCreationAndDeletionErrors() {
        MockNvmeController.Config c = config().maxQueueEntries(64).maxIoQueuePairs(4).msixVectors(3).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            long mem = h.pool.allocate(64 * 64).deviceAddress();
            record Case(String what, Sqe sqe, NvmeStatus expect) {}
            Case[] cases = {
                new Case("CQ id 0", Sqe.of(0x05).prp1(mem).cdw10(0 | 7 << 16).cdw11(1), NvmeStatus.INVALID_QUEUE_IDENTIFIER),
                new Case("CQ id too big", Sqe.of(0x05).prp1(mem).cdw10(5 | 7 << 16).cdw11(1),
                        NvmeStatus.INVALID_QUEUE_IDENTIFIER),
                new Case("CQ of 1 entry", Sqe.of(0x05).prp1(mem).cdw10(1).cdw11(1), NvmeStatus.INVALID_QUEUE_SIZE),
                new Case("CQ above MQES", Sqe.of(0x05).prp1(mem).cdw10(1 | 64 << 16).cdw11(1),
                        NvmeStatus.INVALID_QUEUE_SIZE),
                new Case("CQ not contiguous", Sqe.of(0x05).prp1(mem).cdw10(1 | 7 << 16).cdw11(0), NvmeStatus.INVALID_FIELD),
                new Case("CQ vector", Sqe.of(0x05).prp1(mem).cdw10(1 | 7 << 16).cdw11(3 | 3 << 16),
                        NvmeStatus.INVALID_INTERRUPT_VECTOR),
                new Case("CQ unaligned", Sqe.of(0x05).prp1(mem + 256).cdw10(1 | 7 << 16).cdw11(1),
                        NvmeStatus.INVALID_PRP_OFFSET),
                new Case("SQ without CQ", Sqe.of(0x01).prp1(mem).cdw10(1 | 7 << 16).cdw11(1 | 2 << 16),
                        NvmeStatus.COMPLETION_QUEUE_INVALID),
                new Case("SQ to admin CQ", Sqe.of(0x01).prp1(mem).cdw10(1 | 7 << 16).cdw11(1),
                        NvmeStatus.COMPLETION_QUEUE_INVALID),
                new Case("delete SQ absent", Sqe.of(0x00).cdw10(1), NvmeStatus.INVALID_QUEUE_IDENTIFIER),
                new Case("delete admin SQ", Sqe.of(0x00).cdw10(0), NvmeStatus.INVALID_QUEUE_IDENTIFIER),
                new Case("delete CQ absent", Sqe.of(0x04).cdw10(2), NvmeStatus.INVALID_QUEUE_IDENTIFIER),
                new Case("unmapped CQ memory", Sqe.of(0x05).prp1(0x7000_0000L).cdw10(1 | 7 << 16).cdw11(1),
                        NvmeStatus.DATA_TRANSFER_ERROR),
            };
            for (Case k : cases) {
                Cqe r = h.admin.run(k.sqe());
                assertEquals(k.expect(), r.nvmeStatus(), k.what());
            }
            h.createIoQueues(1, 64, 2);
            DmaBuffer sq2 = h.pool.allocate(4096);
            assertEquals(NvmeStatus.INVALID_QUEUE_IDENTIFIER,
                    h.admin.run(Sqe.of(0x05).prp1(mem).cdw10(1 | 7 << 16).cdw11(1)).nvmeStatus(), "CQ 1 exists");
            h.admin.run(Sqe.of(0x01).prp1(sq2.deviceAddress()).cdw10(2 | 7 << 16).cdw11(1 | 1 << 16))
                    .assertOk("a second SQ on CQ 1");
            assertEquals(NvmeStatus.INVALID_QUEUE_DELETION, h.admin.run(Sqe.of(0x04).cdw10(1)).nvmeStatus());
            h.admin.run(Sqe.of(0x00).cdw10(1)).assertOk("delete SQ 1");
            assertEquals(NvmeStatus.INVALID_QUEUE_DELETION, h.admin.run(Sqe.of(0x04).cdw10(1)).nvmeStatus(),
                    "SQ 2 still posts to CQ 1");
            h.admin.run(Sqe.of(0x00).cdw10(2)).assertOk("delete SQ 2");
            h.admin.run(Sqe.of(0x04).cdw10(1)).assertOk("delete CQ 1");
            Queue again = h.createIoQueues(1, 8, -1);
            DmaBuffer data = h.pool.allocate(4096);
            again.run(Sqe.rw(0x01, 1, 0, 1, data.deviceAddress(), 0)).assertOk("write on the re-created queue");
        }
    }

    @Test
    void deletingAnSqAbortsTheCommandsTheControllerHolds() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            h.ctrl.dropCommands(CommandView.io(0x02), 2);
            int a = q.submit(Sqe.rw(0x02, 1, 0, 1, data.deviceAddress(), 0));
            int b = q.submit(Sqe.rw(0x02, 1, 1, 1, data.deviceAddress(), 0));
            q.assertNoCompletion();
            assertEquals(2, h.ctrl.heldCommands().size());
            h.admin.run(Sqe.of(0x00).cdw10(1)).assertOk("delete SQ 1");
            Cqe first = q.poll();
            Cqe second = q.poll();
            assertEquals(a, first.cid());
            assertEquals(b, second.cid());
            assertEquals(NvmeStatus.ABORTED_SQ_DELETION, first.nvmeStatus());
            assertEquals(NvmeStatus.ABORTED_SQ_DELETION, second.nvmeStatus());
            assertFalse(first.dnr(), "may be retried elsewhere");
            assertTrue(h.ctrl.heldCommands().isEmpty());
        }
    }

    @Test
    void abortCompletesAHeldCommand() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            h.ctrl.dropCommands(CommandView.io(0x02), 1);
            int lost = q.submit(Sqe.rw(0x02, 1, 0, 1, data.deviceAddress(), 0).cid(77));
            q.assertNoCompletion();
            CommandView held = h.ctrl.heldCommands().getFirst();
            assertEquals(1, held.queueId());
            assertEquals(77, held.commandId());
            assertEquals(1, held.blocks());
            Cqe abort = h.admin.run(Sqe.of(ABORT).cdw10(1 | lost << 16));
            abort.assertOk("abort");
            assertEquals(0, abort.dw0() & 1, "aborted");
            Cqe aborted = q.await();
            assertEquals(lost, aborted.cid());
            assertEquals(NvmeStatus.ABORT_REQUESTED, aborted.nvmeStatus());
            Cqe again = h.admin.run(Sqe.of(ABORT).cdw10(1 | lost << 16));
            assertEquals(1, again.dw0() & 1, "nothing to abort any more");
            Cqe unknown = h.admin.run(Sqe.of(ABORT).cdw10(9 | 5 << 16));
            assertEquals(1, unknown.dw0() & 1, "no such queue: not aborted");
            assertTrue(h.ctrl.heldCommands().isEmpty());
        }
    }

    @Test
    void asynchronousEventRequestsAreHeldUntilAnEvent() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().asyncEventLimit(2).build())) {
            int first = h.admin.submit(Sqe.of(AER));
            int second = h.admin.submit(Sqe.of(AER));
            h.admin.assertNoCompletion();
            assertEquals(2, h.ctrl.outstandingAsyncEventRequests());
            Cqe excess = h.admin.run(Sqe.of(AER));
            assertEquals(NvmeStatus.ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED, excess.nvmeStatus());
            h.ctrl.postAsyncEvent(1, 0x01, 0x02); // SMART: temperature threshold
            Cqe event = h.admin.await();
            assertEquals(first, event.cid(), "the oldest request completes first");
            assertEquals(NvmeStatus.SUCCESS, event.nvmeStatus());
            assertEquals(0x02_01_01, event.dw0() & 0xffffff, "type 1, info 1, log page 2");
            h.ctrl.postAsyncEvent(1, 0x00, 0x02);
            h.admin.assertNoCompletion(); // SMART events are masked until log page 2 is read
            logPage(h, 0x02, 512, 0, true, NvmeStatus.SUCCESS);
            h.admin.assertNoCompletion(); // retained: still masked
            logPage(h, 0x02, 512, 0, false, NvmeStatus.SUCCESS);
            Cqe next = h.admin.await();
            assertEquals(second, next.cid());
            assertEquals(0x02_00_01, next.dw0() & 0xffffff);
            h.ctrl.postAsyncEvent(7, 0xc1, 0xd0); // vendor specific, no request outstanding: waits
            h.admin.assertNoCompletion();
            int third = h.admin.submit(Sqe.of(AER));
            Cqe vendor = h.admin.await();
            assertEquals(third, vendor.cid());
            assertEquals(0xd0_c1_07, vendor.dw0() & 0xffffff);
            assertEquals(4, h.ctrl.adminCommandsReceived(AER));
            assertEquals(4, h.ctrl.adminCommandsCompleted(AER));
        }
    }

    @Test
    void smartLogCountsHostCommandsAndDataUnits() {
        MockNvmeController.Config c = config().namespace(100_000, 512).namespace(1000, 4096).mdts(0).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            Queue q = h.createIoQueues(1, 64, -1);
            DmaBuffer data = h.pool.allocate(1 << 20);
            long prpList = prpList(h, data, 256);
            // 3 writes: 1 block of 512, 1000 blocks of 512 (in 2 commands), 1 block of 4096 = 9 units
            q.run(Sqe.rw(0x01, 1, 0, 1, data.deviceAddress(), 0)).assertOk("w1");
            q.run(Sqe.rw(0x01, 1, 1, 500, data.deviceAddress(), prpList)).assertOk("w2");
            q.run(Sqe.rw(0x01, 1, 501, 500, data.deviceAddress(), prpList)).assertOk("w3");
            q.run(Sqe.rw(0x01, 2, 0, 1, data.deviceAddress(), 0)).assertOk("w4");
            q.run(Sqe.rw(0x02, 2, 0, 1, data.deviceAddress(), 0)).assertOk("r1");
            q.run(Sqe.rw(0x02, 1, 200_000, 1, data.deviceAddress(), 0)); // fails: not counted
            MemorySegment smart = logPage(h, 0x02, 512, 0, false, NvmeStatus.SUCCESS);
            assertEquals(300, smart.get(LE_SHORT, nvme_smart_log.temperature$offset()) & 0xffff);
            assertEquals(100, u8(smart, nvme_smart_log.avail_spare$offset()));
            assertEquals(4, smart.get(LE_LONG, nvme_smart_log.host_writes$offset()));
            assertEquals(1, smart.get(LE_LONG, nvme_smart_log.host_reads$offset()));
            // Written: 1 + 1000 + 8 = 1009 units of 512 bytes -> 2 thousand-units, rounded up.
            assertEquals(2, smart.get(LE_LONG, nvme_smart_log.data_units_written$offset()));
            // Read: 8 units -> 1, rounded up.
            assertEquals(1, smart.get(LE_LONG, nvme_smart_log.data_units_read$offset()));
            assertEquals(1, smart.get(LE_LONG, nvme_smart_log.num_err_log_entries$offset()));
            assertEquals(0, smart.get(LE_LONG, nvme_smart_log.unsafe_shutdowns$offset()));
            assertEquals(0, u8(smart, 511), "the whole 512 bytes were written (the buffer held 0x5a)");
            MemorySegment tail = logPage(h, 0x02, 16, nvme_smart_log.host_reads$offset(), false, NvmeStatus.SUCCESS);
            assertEquals(1, tail.get(LE_LONG, 0), "log page offset (LPOL)");
            h.disable();
            h.enable(4);
            MemorySegment after = logPage(h, 0x02, 512, 0, false, NvmeStatus.SUCCESS);
            assertEquals(1, after.get(LE_LONG, nvme_smart_log.unsafe_shutdowns$offset()), "reset without shutdown");
            assertEquals(4, after.get(LE_LONG, nvme_smart_log.host_writes$offset()), "counters survive a reset");
        }
    }

    /** {@return the IOVA of a PRP list describing pages 1..n of {@code data} (page 0 goes in PRP1)} */
    static long prpList(NvmeTestHost h, DmaBuffer data, int pages) {
        DmaBuffer list = h.pool.allocate(4096);
        for (int i = 0; i < pages && i < 512; i++) {
            list.segment().set(LE_LONG, 8L * i, data.deviceAddress() + 4096L * (i + 1));
        }
        return list.deviceAddress();
    }

    @Test
    void errorLogListsFailedCommandsNewestFirst() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(100, 512).errorLogEntries(4).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4096);
            Cqe range = q.run(Sqe.rw(0x02, 1, 99, 2, data.deviceAddress(), 0).cid(11));
            assertEquals(NvmeStatus.LBA_OUT_OF_RANGE, range.nvmeStatus());
            Cqe opcode = q.run(Sqe.of(0x7e).nsid(1).cid(12));
            assertEquals(NvmeStatus.INVALID_OPCODE, opcode.nvmeStatus());
            MemorySegment log = logPage(h, 0x01, 256, 0, false, NvmeStatus.SUCCESS);
            long e = nvme_error_log.sizeof();
            assertEquals(2, log.get(LE_LONG, nvme_error_log.error_count$offset()), "newest first");
            assertEquals(12, u16(log, nvme_error_log.cmdid$offset()));
            assertEquals(1, u16(log, nvme_error_log.sqid$offset()));
            assertEquals(NvmeStatus.INVALID_OPCODE.sc(), (u16(log, nvme_error_log.status_field$offset()) >>> 1) & 0xff);
            assertEquals(1, log.get(LE_LONG, e + nvme_error_log.error_count$offset()));
            assertEquals(11, u16(log, e + nvme_error_log.cmdid$offset()));
            assertEquals(99, log.get(LE_LONG, e + nvme_error_log.lba$offset()));
            assertEquals(1, log.get(LE_INT, e + nvme_error_log.nsid$offset()));
            assertEquals(0x80, (u16(log, e + nvme_error_log.status_field$offset()) >>> 1) & 0xff, "LBA out of range");
            assertEquals(0, log.get(LE_LONG, 2 * e + nvme_error_log.error_count$offset()), "unused entries zero");
            for (int i = 0; i < 5; i++) {
                q.run(Sqe.of(0x7e).nsid(1).cid(100 + i));
            }
            MemorySegment wrapped = logPage(h, 0x01, 256, 0, false, NvmeStatus.SUCCESS);
            assertEquals(7, wrapped.get(LE_LONG, nvme_error_log.error_count$offset()));
            assertEquals(104, u16(wrapped, nvme_error_log.cmdid$offset()));
            assertEquals(4, wrapped.get(LE_LONG, 3 * e + nvme_error_log.error_count$offset()), "only 4 kept");
        }
    }

    @Test
    void firmwareSlotLogAndLogPageErrors() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().firmware("7.2").build())) {
            MemorySegment fw = logPage(h, 0x03, 512, 0, false, NvmeStatus.SUCCESS);
            assertEquals(1, u8(fw, 0), "slot 1 active");
            assertEquals("7.2     ", ascii(fw, 8, 8));
            logPage(h, 0x42, 512, 0, false, NvmeStatus.INVALID_LOG_PAGE);
            logPage(h, 0x02, 512, 512, false, NvmeStatus.INVALID_FIELD);
            logPage(h, 0x02, 16, 2, false, NvmeStatus.INVALID_FIELD); // offset not dword aligned
            MemorySegment big = logPage(h, 0x03, 1024, 0, false, NvmeStatus.SUCCESS);
            assertEquals(0, u8(big, 1000), "beyond the log: zeroes");
        }
    }

    @Test
    void unknownAdminOpcodeAndUnsupportedTransferModes() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            assertEquals(NvmeStatus.INVALID_OPCODE, h.admin.run(Sqe.of(0x7f)).nvmeStatus());
            assertEquals(NvmeStatus.INVALID_OPCODE, h.admin.run(Sqe.of(0x80)).nvmeStatus(), "format NVM: not offered");
            DmaBuffer b = h.pool.allocate(4096);
            Cqe sgl = h.admin.run(Sqe.of(IDENTIFY).flags(0x40).prp1(b.deviceAddress()).cdw10(1));
            assertEquals(NvmeStatus.INVALID_FIELD, sgl.nvmeStatus(), "SGLs are not supported");
            Cqe fused = h.admin.run(Sqe.of(IDENTIFY).flags(0x01).prp1(b.deviceAddress()).cdw10(1));
            assertEquals(NvmeStatus.INVALID_FIELD, fused.nvmeStatus(), "fused operations are not supported");
        }
    }
}
