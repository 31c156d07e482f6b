package dev.ferrum.nvme;

import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.nvme.mock.CommandView;
import dev.ferrum.nvme.mock.MockNvmeController;
import dev.ferrum.sys.nvme.Nvme;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IoTest {

    /** Writes {@code blocks} at {@code lba} from a random pattern and checks the medium and a read-back. */
    private static void roundTrip(TestBed t, IoQueuePair qp, long lba, int blocks, long offset) {
        Namespace ns = t.ns();
        long bytes = (long) blocks * ns.blockSize();
        try (DmaBuffer w = t.buffer(bytes + offset); DmaBuffer r = t.buffer(bytes + offset)) {
            TestBed.fill(w.segment(), lba * 31 + blocks);
            DmaBuffer wv = offset == 0 ? w : w.slice(offset, bytes);
            DmaBuffer rv = offset == 0 ? r : r.slice(offset, bytes);
            qp.write(ns, lba, blocks, wv);
            byte[] medium = t.mock.readBlocks(1, lba, blocks);
            assertArrayEquals(wv.segment().asSlice(0, bytes).toArray(ValueLayout.JAVA_BYTE), medium,
                    "the controller stored what was written");
            qp.read(ns, lba, blocks, rv);
            assertEquals(-1, wv.segment().asSlice(0, bytes).mismatch(rv.segment().asSlice(0, bytes)),
                    blocks + " block(s) at LBA " + lba + " read back");
        }
    }

    @ParameterizedTest(name = "{0}-byte blocks")
    @ValueSource(ints = {512, 4096})
    void everyPrpShapeRoundTrips(int lbaSize) {
        try (TestBed t = new TestBed(TestBed.config(lbaSize).mdts(0).build());
             IoQueuePair qp = t.ctrl.createQueuePair()) {
            int perPage = 4096 / lbaSize;
            roundTrip(t, qp, 0, 1, 0);                    // PRP1 only
            roundTrip(t, qp, 10, 2 * perPage, 0);         // PRP1 + PRP2 as a second page
            roundTrip(t, qp, 100, 3 * perPage, 0);        // PRP2 as a list pointer
            roundTrip(t, qp, 1000, 512 * perPage, 0);     // a full list page: 2 MiB
            roundTrip(t, qp, 5000, 7, lbaSize == 512 ? 1536 : 0); // PRP1 with an offset inside its page
            roundTrip(t, qp, t.ns().blockCount() - 9, 9, 0); // the last blocks of the namespace
        }
    }

    @Test
    void misalignedFirstPageCrossesIntoAList() {
        try (TestBed t = new TestBed(TestBed.config(512).mdts(0).build());
             IoQueuePair qp = t.ctrl.createQueuePair()) {
            roundTrip(t, qp, 77, 17, 3584); // starts 512 bytes before a page end: PRP1 offset + list of 2 more pages
        }
    }

    @ParameterizedTest(name = "{0}-byte blocks")
    @ValueSource(ints = {512, 4096})
    void transfersBeyondMdtsAreSplitTransparently(int lbaSize) {
        try (TestBed t = new TestBed(TestBed.config(lbaSize).mdts(3).build()); // 32 KiB per command
             IoQueuePair qp = t.ctrl.createQueuePair()) {
            assertEquals(32 * 1024, qp.maxCommandBytes());
            long before = t.mock.ioCommandsReceived(Nvme.NVME_CMD_WRITE());
            int blocks = 256 * 1024 / lbaSize;
            roundTrip(t, qp, 64, blocks, 0);
            assertEquals(8, t.mock.ioCommandsReceived(Nvme.NVME_CMD_WRITE()) - before, "256 KiB in 8 commands");
        }
    }

    @Test
    void syncTransfersLargerThanTheQueueGoInWaves() {
        try (TestBed t = new TestBed(TestBed.config(512).mdts(1).build()); // 8 KiB per command
             IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder().depth(4).build())) {
            assertEquals(3, qp.capacity());
            roundTrip(t, qp, 0, 1024, 0); // 512 KiB = 64 commands through 3 slots
            assertEquals(0, qp.outstanding());
        }
    }

    @Test
    void asyncCallbacksAndFuturesCompleteOnceEach() throws Exception {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair();
             DmaBuffer buf = t.buffer(64 * 4096)) {
            Namespace ns = t.ns();
            TestBed.fill(buf.segment(), 5);
            int[] calls = new int[64];
            List<Long> tags = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                qp.write(ns, i * 8L, 8, buf.slice(i * 4096L, 4096), (tag, status) -> {
                    assertEquals(IoStatus.SUCCESS, status);
                    calls[(int) tag]++;
                    tags.add(tag);
                }, i);
            }
            assertEquals(64, qp.outstanding());
            ExecutionException other = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.runAsync(() -> qp.processCompletions(1)).get());
            assertInstanceOf(WrongThreadException.class, other.getCause(), "completions belong to the owner thread");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (qp.outstanding() > 0 && System.nanoTime() < deadline) {
                qp.processCompletions(Integer.MAX_VALUE);
            }
            assertEquals(64, tags.size());
            for (int c : calls) {
                assertEquals(1, c, "each command completed exactly once");
            }
            assertEquals(0, buf.pinCount(), "all pins released");
            CompletableFuture<Void> f = qp.readAsync(ns, 0, 8, buf);
            while (!f.isDone()) {
                qp.processCompletions(Integer.MAX_VALUE);
            }
            f.get();
        } catch (java.util.concurrent.CompletionException e) {
            throw (Exception) e.getCause();
        }
    }

    @Test
    void flushWriteZeroesAndDeallocate() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(8192)) {
            Namespace ns = t.ns();
            TestBed.fill(buf.segment(), 9);
            qp.write(ns, 100, 16, buf);
            qp.writeZeroes(ns, 100, 8);
            qp.read(ns, 100, 16, buf);
            assertTrue(allZero(buf.segment().asSlice(0, 4096)), "write zeroes");
            assertTrue(!allZero(buf.segment().asSlice(4096, 4096)), "the blocks after the range are kept");
            qp.deallocate(ns, 104, 12);
            qp.read(ns, 100, 16, buf);
            assertTrue(allZero(buf.segment()), "deallocated blocks read as zeroes on this controller");
            long flushes = t.mock.ioCommandsReceived(Nvme.NVME_CMD_FLUSH());
            qp.flush(ns);
            t.ns().flush();
            assertEquals(flushes + 2, t.mock.ioCommandsReceived(Nvme.NVME_CMD_FLUSH()));
            assertEquals(1, t.mock.ioCommandsReceived(Nvme.NVME_CMD_DSM()));
        }
    }

    static boolean allZero(MemorySegment s) {
        for (long o = 0; o < s.byteSize(); o += 8) {
            if (s.get(ValueLayout.JAVA_LONG, o) != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void badRequestsAreRefusedBeforeAnythingIsSent() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            Namespace ns = t.ns();
            long sent = t.mock.ioCommandsReceived(Nvme.NVME_CMD_READ());
            IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                    () -> qp.read(ns, ns.blockCount() - 2, 4, buf));
            assertEquals("LBA range [131070, 131074) is outside namespace 1 (131072 blocks of 512 bytes)",
                    range.getMessage());
            assertThrows(IllegalArgumentException.class, () -> qp.read(ns, -1, 1, buf));
            assertThrows(IllegalArgumentException.class, () -> qp.read(ns, 0, 0, buf));
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> qp.read(ns, 0, 9, buf));
            assertEquals("buffer of 4096 bytes is too small for 9 blocks of 512 bytes (4608 bytes)", small.getMessage());
            try (DmaPool other = DmaPool.builder(DeviceAddressSpace.identity())
                    .memoryLock(DmaPool.MemoryLock.BEST_EFFORT).build()) {
                DmaBuffer foreign = other.allocate(4096);
                IllegalArgumentException notMapped = assertThrows(IllegalArgumentException.class,
                        () -> qp.read(ns, 0, 1, foreign));
                assertTrue(notMapped.getMessage().contains("is not DMA-mapped for controller 0000:00:04.0"),
                        notMapped.getMessage());
            }
            DmaBuffer closed = t.buffer(4096);
            closed.close();
            IllegalStateException uaf = assertThrows(IllegalStateException.class, () -> qp.write(ns, 0, 1, closed));
            assertTrue(uaf.getMessage().contains("closed"), uaf.getMessage());
            assertThrows(NullPointerException.class, () -> qp.read(ns, 0, 1, null));
            assertEquals(sent, t.mock.ioCommandsReceived(Nvme.NVME_CMD_READ()), "nothing reached the device");
            assertEquals(0, qp.outstanding());
            assertEquals(0, buf.pinCount());
        }
    }

    @Test
    void closedQueuePairAndNamespaceRefuseIo() {
        try (TestBed t = new TestBed(); DmaBuffer buf = t.buffer(4096)) {
            IoQueuePair qp = t.ctrl.createQueuePair();
            qp.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> qp.read(t.ns(), 0, 1, buf));
            assertEquals("queue pair 1 of 0000:00:04.0 is closed", e.getMessage());
            qp.close(); // idempotent
            Namespace ns = t.ns();
            try (IoQueuePair qp2 = t.ctrl.createQueuePair()) {
                ns.close();
                IllegalStateException n = assertThrows(IllegalStateException.class, () -> qp2.read(ns, 0, 1, buf));
                assertEquals("namespace 1 of 0000:00:04.0 is closed", n.getMessage());
                assertThrows(IllegalStateException.class, () -> ns.read(0, 1, buf));
            }
        }
    }

    @Test
    void ownerThreadPairRefusesOtherThreads() throws Exception {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.runAsync(() -> qp.read(t.ns(), 0, 1, buf)).get());
            assertInstanceOf(WrongThreadException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("create a SHARED queue pair"), e.getCause().getMessage());
        }
    }

    @Test
    void fullQueueRefusesAsyncSubmissionClearly() {
        try (TestBed t = new TestBed()) {
            IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder().depth(4).build());
            DmaBuffer buf = t.buffer(4096);
            int[] statuses = new int[3];
            IoCallback record = (tag, s) -> statuses[(int) tag] = s;
            t.mock.dropCommands(CommandView.anyIo(), 3);
            for (int i = 0; i < 3; i++) {
                qp.read(t.ns(), i, 1, buf, record, i);
            }
            QueueFullException e = assertThrows(QueueFullException.class, () -> qp.read(t.ns(), 9, 1, buf, record, 9));
            assertTrue(e.getMessage().contains("has 0 of 3 slots free"), e.getMessage());
            assertEquals(3, buf.pinCount(), "the buffer is pinned once per outstanding command");
            IllegalStateException busy = assertThrows(IllegalStateException.class, buf::close);
            assertTrue(busy.getMessage().contains("pinned by 3"), busy.getMessage());
            // Closing the pair waits up to the command timeout (the stuck commands time out and are aborted), then
            // deletes the SQ (the controller aborts whatever it still holds): either way each completes once.
            qp.close();
            for (int s : statuses) {
                assertTrue(s == IoStatus.TIMEOUT || IoStatus.nvmeStatus(s) == NvmeStatus.ABORTED_SQ_DELETION,
                        IoStatus.describe(s));
            }
            assertEquals(0, buf.pinCount());
            buf.close();
        }
    }

    @Test
    void deviceErrorStatusIsNamed() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            t.mock.injectStatus(CommandView.io(Nvme.NVME_CMD_READ()), NvmeStatus.UNRECOVERED_READ_ERROR, true, 1);
            NvmeCommandException e = assertThrows(NvmeCommandException.class, () -> qp.read(t.ns(), 42, 2, buf));
            assertEquals("Read of 2 block(s) at LBA 42 on namespace 1 failed: Unrecovered Read Error "
                    + "(SCT 0x2, SC 0x81, do not retry)", e.getMessage());
            assertEquals(NvmeStatus.UNRECOVERED_READ_ERROR, e.status());
            assertTrue(e.doNotRetry());
            assertEquals(0, buf.pinCount());
            qp.read(t.ns(), 42, 2, buf); // the next one succeeds
        }
    }

    @Test
    void mockControllerRecordsWhatTheDriverSent() {
        var config = TestBed.config(512).build();
        try (TestBed t = new TestBed(config); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(8192)) {
            t.mock.recordCommands(16);
            qp.write(t.ns(), 0x1_0000_0001L & (t.ns().blockCount() - 1), 16, buf);
            var cmd = t.mock.recordedCommands().stream().filter(c -> c.opcode() == Nvme.NVME_CMD_WRITE()).findFirst()
                    .orElseThrow();
            assertEquals(1, cmd.nsid());
            assertEquals(16, cmd.blocks());
            assertEquals(1, cmd.slba());
            assertEquals(buf.deviceAddress(), cmd.prp1());
            assertEquals(buf.deviceAddress() + 4096, cmd.prp2(), "8 KiB: PRP2 is the second page");
            assertEquals(MockNvmeController.VENDOR_ID, t.ctrl.info().vendorId());
        }
    }

    @Test
    void doorbellStrideFromCapIsHonoured() {
        try (TestBed t = new TestBed(TestBed.config(512).doorbellStride(3).build(), o -> o.ioQueues(2));
             IoQueuePair a = t.ctrl.createQueuePair(); IoQueuePair b = t.ctrl.createQueuePair()) {
            assertEquals(3, t.ctrl.capabilities().doorbellStride());
            roundTrip(t, a, 10, 4, 0);
            roundTrip(t, b, 20, 4, 0); // queue 2's doorbells are at 0x1000 + 4 * (4 << 3) and beyond
            assertEquals(0, t.mock.invalidDoorbellWrites());
        }
    }

    @Test
    void batchedSubmissionsReachTheDeviceOnlyWithTheDoorbell() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder()
                .autoDoorbell(false).build()); DmaBuffer buf = t.buffer(8 * 4096)) {
            int[] done = new int[1];
            for (int i = 0; i < 8; i++) {
                qp.write(t.ns(), i * 8L, 8, buf.slice(i * 4096L, 4096), (tag, s) -> done[0]++, i);
            }
            // Nothing was published: the controller cannot have fetched anything. (A bounded look: the absence of
            // an event cannot be awaited.)
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            while (System.nanoTime() < until) {
                qp.processCompletions(Integer.MAX_VALUE);
            }
            assertEquals(0, t.mock.ioCommandsReceived(Nvme.NVME_CMD_WRITE()));
            assertEquals(0, done[0]);
            qp.ringDoorbell(); // one doorbell write for the batch
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (done[0] < 8 && System.nanoTime() < deadline) {
                qp.processCompletions(Integer.MAX_VALUE);
            }
            assertEquals(8, done[0]);
            assertEquals(8, t.mock.ioCommandsReceived(Nvme.NVME_CMD_WRITE()));
        }
    }

    @Test
    void registeredBuffersArePinnedOnceAndReleasedWithThePair() {
        try (TestBed t = new TestBed()) {
            IoQueuePair qp = t.ctrl.createQueuePair();
            DmaBuffer buf = t.buffer(8192);
            qp.registerBuffer(buf);
            assertEquals(1, buf.pinCount());
            assertTrue(buf.isRegisteredTo(qp));
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> qp.registerBuffer(buf));
            assertTrue(twice.getMessage().contains("already registered"), twice.getMessage());
            int[] done = new int[1];
            qp.write(t.ns(), 0, 8, buf.slice(0, 4096), (tag, s) -> done[0]++, 0);
            assertEquals(1, buf.pinCount(), "no per-command pin on a registered buffer");
            IllegalStateException busy = assertThrows(IllegalStateException.class, () -> qp.unregisterBuffer(buf));
            assertTrue(busy.getMessage().contains("1 command(s) outstanding"), busy.getMessage());
            assertThrows(IllegalStateException.class, buf::close, "registered buffers cannot be freed");
            while (done[0] == 0) {
                qp.processCompletions(Integer.MAX_VALUE);
            }
            qp.read(t.ns(), 0, 8, buf.slice(4096, 4096));
            assertEquals(-1, buf.segment().asSlice(0, 4096).mismatch(buf.segment().asSlice(4096, 4096)));
            qp.unregisterBuffer(buf);
            assertEquals(0, buf.pinCount());
            qp.registerBuffer(buf);
            qp.close();
            assertFalse(buf.isRegisteredTo(qp), "closing the pair ends its registrations");
            buf.close();
        }
    }
}
