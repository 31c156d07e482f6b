package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.IommuFault;
import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.mock.NvmeTestHost.Cqe;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.ferrum.nvme.mock.NvmeTestHost.LE_LONG;
import static dev.ferrum.nvme.mock.NvmeTestHost.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IoCommandsTest {
    static final int WRITE = 0x01;
    static final int READ = 0x02;
    static final int FLUSH = 0x00;
    static final int WRITE_ZEROES = 0x08;
    static final int DSM = 0x09;

    private static MockNvmeController.Config.Builder config() {
        return MockNvmeController.Config.builder();
    }

    /** A PRP list page with the given entries, the last one at entry index {@code start}. */
    static DmaBuffer list(NvmeTestHost h, int start, long... entries) {
        DmaBuffer l = h.pool.allocate(4096);
        for (int i = 0; i < entries.length; i++) {
            l.segment().set(LE_LONG, 8L * (start + i), entries[i]);
        }
        return l;
    }

    static byte[] medium(NvmeTestHost h, int nsid, long lba, int blocks) {
        return h.ctrl.readBlocks(nsid, lba, blocks);
    }

    @Test
    void roundTripThroughPrp1Only() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(1024, 512).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer src = h.patterned(4096, 1);
            q.run(Sqe.rw(WRITE, 1, 16, 8, src.deviceAddress(), 0)).assertOk("write 4 KiB");
            assertArrayEquals(bytes(src.segment()), medium(h, 1, 16, 8));
            DmaBuffer dst = h.pool.allocate(4096);
            q.run(Sqe.rw(READ, 1, 16, 8, dst.deviceAddress(), 0)).assertOk("read 4 KiB");
            assertArrayEquals(bytes(src.segment()), bytes(dst.segment()));
            // One block into the middle of a page: PRP1 with an offset, nothing around it touched.
            DmaBuffer part = h.pool.allocate(4096);
            part.segment().fill((byte) 0x77);
            q.run(Sqe.rw(READ, 1, 17, 1, part.deviceAddress() + 0x200, 0)).assertOk("read 512 at offset 0x200");
            assertArrayEquals(Arrays.copyOfRange(bytes(src.segment()), 512, 1024),
                    Arrays.copyOfRange(bytes(part.segment()), 0x200, 0x400));
            assertEquals(0x77, part.segment().get(ValueLayout.JAVA_BYTE, 0x1ff));
            assertEquals(0x77, part.segment().get(ValueLayout.JAVA_BYTE, 0x400));
        }
    }

    @Test
    void roundTripThroughPrp1AndPrp2() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(1024, 4096).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            // Two pages that are not adjacent in IOVA space: PRP2 must be honoured, not PRP1 + 4096.
            DmaBuffer a = h.patterned(4096, 2);
            h.pool.allocate(4096);
            DmaBuffer b = h.patterned(4096, 3);
            q.run(Sqe.rw(WRITE, 1, 5, 2, a.deviceAddress(), b.deviceAddress())).assertOk("write 2 pages");
            byte[] onMedium = medium(h, 1, 5, 2);
            assertArrayEquals(bytes(a.segment()), Arrays.copyOfRange(onMedium, 0, 4096));
            assertArrayEquals(bytes(b.segment()), Arrays.copyOfRange(onMedium, 4096, 8192));
            // One block with PRP1 at offset 0x800: half in PRP1's page, half in PRP2's page.
            DmaBuffer x = h.pool.allocate(4096);
            DmaBuffer y = h.pool.allocate(4096);
            q.run(Sqe.rw(READ, 1, 5, 1, x.deviceAddress() + 0x800, y.deviceAddress())).assertOk("split read");
            assertArrayEquals(Arrays.copyOfRange(bytes(a.segment()), 0, 0x800),
                    Arrays.copyOfRange(bytes(x.segment()), 0x800, 0x1000));
            assertArrayEquals(Arrays.copyOfRange(bytes(a.segment()), 0x800, 0x1000),
                    Arrays.copyOfRange(bytes(y.segment()), 0, 0x800));
            assertEquals(0, y.segment().get(ValueLayout.JAVA_BYTE, 0x800), "nothing beyond the transfer");
        }
    }

    @Test
    void roundTripThroughAPrpListInScatteredOrder() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(1024, 512).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.patterned(16 * 4096, 4);
            // PRP1 = page 0; the list names pages 15, 14, ..., 1: the medium must hold them in that order.
            long[] entries = new long[15];
            for (int i = 0; i < 15; i++) {
                entries[i] = data.deviceAddress(4096L * (15 - i));
            }
            DmaBuffer l = list(h, 0, entries);
            q.run(Sqe.rw(WRITE, 1, 0, 128, data.deviceAddress(), l.deviceAddress())).assertOk("write 64 KiB");
            byte[] m = medium(h, 1, 0, 128);
            byte[] d = bytes(data.segment());
            assertArrayEquals(Arrays.copyOfRange(d, 0, 4096), Arrays.copyOfRange(m, 0, 4096));
            for (int i = 1; i < 16; i++) {
                assertArrayEquals(Arrays.copyOfRange(d, 4096 * (16 - i), 4096 * (17 - i)),
                        Arrays.copyOfRange(m, 4096 * i, 4096 * (i + 1)), "medium page " + i);
            }
            DmaBuffer back = h.pool.allocate(16 * 4096);
            long[] straight = new long[15];
            for (int i = 0; i < 15; i++) {
                straight[i] = back.deviceAddress(4096L * (i + 1));
            }
            q.run(Sqe.rw(READ, 1, 0, 128, back.deviceAddress(), list(h, 0, straight).deviceAddress()))
                    .assertOk("read 64 KiB");
            assertArrayEquals(m, bytes(back.segment()));
        }
    }

    @Test
    void chainedPrpLists() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(4096, 4096).mdts(0).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            // Small chain: the first list starts 16 bytes before its page end, so it holds one data entry and
            // the pointer to the next list page.
            DmaBuffer data = h.patterned(4 * 4096, 5);
            DmaBuffer second = list(h, 0, data.deviceAddress(2 * 4096), data.deviceAddress(3 * 4096));
            DmaBuffer first = list(h, 510, data.deviceAddress(4096), second.deviceAddress());
            q.run(Sqe.rw(WRITE, 1, 0, 4, data.deviceAddress(), first.deviceAddress(4080))).assertOk("chained write");
            assertArrayEquals(bytes(data.segment()), medium(h, 1, 0, 4));
            // Large chain: 600 pages need a full first list (511 data entries + pointer) and a second one.
            int pages = 600;
            DmaBuffer big = h.patterned((long) pages * 4096, 6);
            long[] one = new long[512];
            for (int i = 0; i < 511; i++) {
                one[i] = big.deviceAddress(4096L * (i + 1));
            }
            long[] two = new long[pages - 512];
            for (int i = 0; i < two.length; i++) {
                two[i] = big.deviceAddress(4096L * (512 + i));
            }
            DmaBuffer l2 = list(h, 0, two);
            one[511] = l2.deviceAddress();
            DmaBuffer l1 = list(h, 0, one);
            q.run(Sqe.rw(WRITE, 1, 100, pages, big.deviceAddress(), l1.deviceAddress())).assertOk("600-page write");
            assertArrayEquals(bytes(big.segment()), medium(h, 1, 100, pages));
            DmaBuffer back = h.pool.allocate((long) pages * 4096);
            long[] b1 = new long[512];
            for (int i = 0; i < 511; i++) {
                b1[i] = back.deviceAddress(4096L * (i + 1));
            }
            long[] b2 = new long[pages - 512];
            for (int i = 0; i < b2.length; i++) {
                b2[i] = back.deviceAddress(4096L * (512 + i));
            }
            b1[511] = list(h, 0, b2).deviceAddress();
            q.run(Sqe.rw(READ, 1, 100, pages, back.deviceAddress(), list(h, 0, b1).deviceAddress()))
                    .assertOk("600-page read");
            assertArrayEquals(bytes(big.segment()), bytes(back.segment()));
        }
    }

    @Test
    void bothLbaFormatsAddressTheirOwnBlockSize() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(64, 512).namespace(64, 4096).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer a = h.patterned(4096, 7);
            q.run(Sqe.rw(WRITE, 1, 3, 1, a.deviceAddress(), 0)).assertOk("512-byte block 3");
            q.run(Sqe.rw(WRITE, 2, 3, 1, a.deviceAddress(), 0)).assertOk("4 KiB block 3");
            assertArrayEquals(Arrays.copyOfRange(bytes(a.segment()), 0, 512), medium(h, 1, 3, 1));
            assertArrayEquals(new byte[512], medium(h, 1, 2, 1));
            assertArrayEquals(new byte[512], medium(h, 1, 4, 1), "a 512-byte write touches one block");
            assertArrayEquals(bytes(a.segment()), medium(h, 2, 3, 1));
            assertArrayEquals(new byte[4096], medium(h, 2, 2, 1));
            assertEquals(NvmeStatus.LBA_OUT_OF_RANGE,
                    q.run(Sqe.rw(READ, 1, 64, 1, a.deviceAddress(), 0)).nvmeStatus(), "64 blocks: 0..63");
            q.run(Sqe.rw(READ, 2, 63, 1, a.deviceAddress(), 0)).assertOk("last 4 KiB block");
        }
    }

    @Test
    void transfersAboveMdtsAreRejected() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(64, 4096).namespace(64, 512).mdts(1).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(3 * 4096);
            DmaBuffer l = list(h, 0, data.deviceAddress(4096), data.deviceAddress(8192));
            Cqe big = q.run(Sqe.rw(WRITE, 1, 0, 3, data.deviceAddress(), l.deviceAddress()));
            assertEquals(NvmeStatus.INVALID_FIELD, big.nvmeStatus(), "12 KiB > 8 KiB");
            assertTrue(big.dnr());
            q.run(Sqe.rw(WRITE, 1, 0, 2, data.deviceAddress(), data.deviceAddress(4096))).assertOk("8 KiB");
            assertEquals(NvmeStatus.INVALID_FIELD,
                    q.run(Sqe.rw(READ, 2, 0, 17, data.deviceAddress(), l.deviceAddress())).nvmeStatus());
            q.run(Sqe.rw(READ, 2, 0, 16, data.deviceAddress(), data.deviceAddress(4096))).assertOk("16 x 512");
        }
    }

    @Test
    void rangeNamespaceAndOpcodeErrors() {
        MockNvmeController.Config c = config().namespace(100, 512).datasetManagement(false).writeZeroes(false).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            Queue q = h.createIoQueues(1, 16, -1);
            long buf = h.pool.allocate(4096).deviceAddress();
            record Case(String what, Sqe sqe, NvmeStatus expect) {}
            Case[] cases = {
                new Case("past the end", Sqe.rw(READ, 1, 99, 2, buf, 0), NvmeStatus.LBA_OUT_OF_RANGE),
                new Case("SLBA beyond", Sqe.rw(WRITE, 1, 100, 1, buf, 0), NvmeStatus.LBA_OUT_OF_RANGE),
                new Case("SLBA 2^63", Sqe.rw(READ, 1, Long.MIN_VALUE, 1, buf, 0), NvmeStatus.LBA_OUT_OF_RANGE),
                new Case("SLBA 2^64 - 1", Sqe.rw(READ, 1, -1L, 1, buf, 0), NvmeStatus.LBA_OUT_OF_RANGE),
                new Case("NSID 0", Sqe.rw(READ, 0, 0, 1, buf, 0), NvmeStatus.INVALID_NAMESPACE),
                new Case("NSID 99", Sqe.rw(READ, 99, 0, 1, buf, 0), NvmeStatus.INVALID_NAMESPACE),
                new Case("flush NSID 5", Sqe.of(FLUSH).nsid(5), NvmeStatus.INVALID_NAMESPACE),
                new Case("unknown opcode", Sqe.of(0x7e).nsid(1), NvmeStatus.INVALID_OPCODE),
                new Case("admin opcode", Sqe.of(0x06).nsid(1), NvmeStatus.INVALID_OPCODE),
                new Case("write zeroes off", Sqe.rw(WRITE_ZEROES, 1, 0, 1, 0, 0), NvmeStatus.INVALID_OPCODE),
                new Case("DSM off", Sqe.of(DSM).nsid(1).prp1(buf), NvmeStatus.INVALID_OPCODE),
            };
            for (Case k : cases) {
                Cqe r = q.run(k.sqe());
                assertEquals(k.expect(), r.nvmeStatus(), k.what());
                assertTrue(r.dnr(), k.what() + ": do not retry");
            }
            q.run(Sqe.rw(READ, 1, 99, 1, buf, 0)).assertOk("the last block");
            q.run(Sqe.of(FLUSH).nsid(1)).assertOk("flush");
            q.run(Sqe.of(FLUSH).nsid(0xffffffff)).assertOk("flush all namespaces");
        }
    }

    @Test
    void invalidPrpEntriesAreRejected() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(1024, 512).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.pool.allocate(4 * 4096);
            long base = data.deviceAddress();
            record Case(String what, Sqe sqe) {}
            DmaBuffer unalignedEntry = list(h, 0, base + 4096 + 8, base + 8192);
            DmaBuffer loop = h.pool.allocate(4096);
            loop.segment().set(LE_LONG, 4088, loop.deviceAddress(4088)); // points at itself
            Case[] cases = {
                new Case("PRP1 not dword aligned", Sqe.rw(READ, 1, 0, 1, base + 2, 0)),
                new Case("PRP2 page with an offset", Sqe.rw(READ, 1, 0, 16, base, base + 4096 + 512)),
                new Case("list entry with an offset", Sqe.rw(READ, 1, 0, 24, base, unalignedEntry.deviceAddress())),
                new Case("list pointer not qword aligned", Sqe.rw(READ, 1, 0, 24, base, base + 4096 + 4)),
                new Case("list pointing at itself", Sqe.rw(READ, 1, 0, 24, base, loop.deviceAddress(4088))),
            };
            for (Case k : cases) {
                assertEquals(NvmeStatus.INVALID_PRP_OFFSET, q.run(k.sqe()).nvmeStatus(), k.what());
            }
        }
    }

    @Test
    void writeZeroesZeroesExactlyItsRangeAndFreesWholeChunks() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(1 << 20, 512).mdts(0).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.patterned(64 * 4096, 8);
            long[] entries = new long[63];
            for (int i = 0; i < 63; i++) {
                entries[i] = data.deviceAddress(4096L * (i + 1));
            }
            long l = list(h, 0, entries).deviceAddress();
            q.run(Sqe.rw(WRITE, 1, 0, 512, data.deviceAddress(), l)).assertOk("256 KiB");
            assertEquals(256 * 1024, h.ctrl.allocatedBytes(1));
            // Zero blocks 128..383: chunk 1 (64 KiB) and chunk 2 entirely, 0 and 3 untouched.
            q.run(Sqe.rw(WRITE_ZEROES, 1, 128, 256, 0, 0)).assertOk("write zeroes");
            assertArrayEquals(new byte[256 * 512], medium(h, 1, 128, 256));
            assertArrayEquals(Arrays.copyOfRange(bytes(data.segment()), 0, 128 * 512), medium(h, 1, 0, 128));
            assertArrayEquals(Arrays.copyOfRange(bytes(data.segment()), 384 * 512, 512 * 512), medium(h, 1, 384, 128));
            assertEquals(128 * 1024, h.ctrl.allocatedBytes(1), "whole zeroed chunks are freed");
            // With DEAC and inside a chunk: zeroed, chunk kept.
            q.run(Sqe.rw(WRITE_ZEROES, 1, 10, 3, 0, 0).cdw12(2 | 1 << 25)).assertOk("deallocating write zeroes");
            assertArrayEquals(new byte[3 * 512], medium(h, 1, 10, 3));
            assertFalse(Arrays.equals(new byte[512], medium(h, 1, 9, 1)));
            assertEquals(NvmeStatus.LBA_OUT_OF_RANGE,
                    q.run(Sqe.rw(WRITE_ZEROES, 1, (1 << 20) - 1, 2, 0, 0)).nvmeStatus());
        }
    }

    @Test
    void datasetManagementDeallocatesRangesThatReadBackAsZeroes() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(256, 4096).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer data = h.patterned(8 * 4096, 9);
            for (int lba = 0; lba < 8; lba++) {
                q.run(Sqe.rw(WRITE, 1, lba, 1, data.deviceAddress(4096L * lba), 0)).assertOk("write " + lba);
            }
            DmaBuffer ranges = h.pool.allocate(4096);
            MemorySegment r = ranges.segment();
            r.set(NvmeTestHost.LE_INT, 4, 2); // range 0: 2 blocks at 1
            r.set(LE_LONG, 8, 1L);
            r.set(NvmeTestHost.LE_INT, 16 + 4, 1); // range 1: 1 block at 6
            r.set(LE_LONG, 16 + 8, 6L);
            q.run(Sqe.of(DSM).nsid(1).prp1(ranges.deviceAddress()).cdw10(1).cdw11(1 << 2)).assertOk("deallocate");
            DmaBuffer back = h.pool.allocate(8 * 4096);
            for (int lba = 0; lba < 8; lba++) {
                q.run(Sqe.rw(READ, 1, lba, 1, back.deviceAddress(4096L * lba), 0)).assertOk("read " + lba);
                byte[] expect = lba == 1 || lba == 2 || lba == 6 ? new byte[4096]
                        : bytes(data.segment().asSlice(4096L * lba, 4096));
                assertArrayEquals(expect, bytes(back.segment().asSlice(4096L * lba, 4096)), "block " + lba);
            }
            // A bad range anywhere in the list: nothing is deallocated.
            r.set(NvmeTestHost.LE_INT, 4, 1);
            r.set(LE_LONG, 8, 0L);
            r.set(NvmeTestHost.LE_INT, 16 + 4, 10);
            r.set(LE_LONG, 16 + 8, 250L);
            Cqe bad = q.run(Sqe.of(DSM).nsid(1).prp1(ranges.deviceAddress()).cdw10(1).cdw11(1 << 2));
            assertEquals(NvmeStatus.LBA_OUT_OF_RANGE, bad.nvmeStatus());
            assertArrayEquals(bytes(data.segment().asSlice(0, 4096)), medium(h, 1, 0, 1), "block 0 kept");
            // Without the deallocate attribute the hints change nothing.
            r.set(NvmeTestHost.LE_INT, 16 + 4, 1);
            q.run(Sqe.of(DSM).nsid(1).prp1(ranges.deviceAddress()).cdw10(1).cdw11(1)).assertOk("hint only");
            assertArrayEquals(bytes(data.segment().asSlice(0, 4096)), medium(h, 1, 0, 1));
        }
    }

    @Test
    void fileBackedNamespacePersistsAcrossControllers(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ns1.img");
        DmaBuffer written;
        byte[] expect;
        MockNvmeController.Config c = config().namespace(256, 512, file).build();
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            Queue q = h.createIoQueues(1, 16, -1);
            written = h.patterned(4096, 10);
            expect = bytes(written.segment());
            q.run(Sqe.rw(WRITE, 1, 8, 8, written.deviceAddress(), 0)).assertOk("write");
            q.run(Sqe.of(FLUSH).nsid(1)).assertOk("flush");
        }
        assertEquals(256 * 512, Files.size(file));
        byte[] onDisk = Files.readAllBytes(file);
        assertArrayEquals(expect, Arrays.copyOfRange(onDisk, 8 * 512, 16 * 512));
        try (NvmeTestHost h = NvmeTestHost.enabled(c)) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer back = h.pool.allocate(4096);
            q.run(Sqe.rw(READ, 1, 8, 8, back.deviceAddress(), 0)).assertOk("read");
            assertArrayEquals(expect, bytes(back.segment()));
        }
    }

    @Test
    void phaseTagInvertsOnEveryWrap() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            Queue q = h.createIoQueues(1, 4, -1);
            DmaBuffer data = h.pool.allocate(4096);
            MemorySegment cq = q.cq.segment();
            for (int i = 0; i < 50; i++) {
                int cid = q.submit(Sqe.rw(READ, 1, i, 1, data.deviceAddress(), 0));
                h.step();
                int slot = i % 4;
                int dw3 = cq.get(NvmeTestHost.LE_INT, 16L * slot + 12);
                int expectedPhase = (i / 4) % 2 == 0 ? 1 : 0;
                assertEquals(expectedPhase, (dw3 >>> 16) & 1, "phase of completion " + i);
                assertEquals(cid, dw3 & 0xffff);
                int dw2 = cq.get(NvmeTestHost.LE_INT, 16L * slot + 8);
                assertEquals((i + 1) % 4, dw2 & 0xffff, "SQ head after fetching command " + i);
                assertEquals(1, dw2 >>> 16, "SQ ID");
                Cqe c = q.await();
                c.assertOk("read " + i);
            }
            assertEquals(50, h.ctrl.ioCommandsCompleted(READ));
        }
    }

    @Test
    void fullCompletionQueueHoldsBackFurtherCompletions() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            DmaBuffer cqMem = h.pool.allocate(4096);
            DmaBuffer sqMem = h.pool.allocate(4096);
            h.admin.run(Sqe.of(0x05).prp1(cqMem.deviceAddress()).cdw10(1 | 3 << 16).cdw11(1)).assertOk("CQ of 4");
            h.admin.run(Sqe.of(0x01).prp1(sqMem.deviceAddress()).cdw10(1 | 7 << 16).cdw11(1 | 1 << 16))
                    .assertOk("SQ of 8");
            Queue q = h.new Queue(1, 8, 4, sqMem, cqMem);
            DmaBuffer data = h.pool.allocate(4096);
            for (int i = 0; i < 6; i++) {
                q.write(Sqe.rw(READ, 1, i, 1, data.deviceAddress(), 0));
            }
            q.ring();
            h.step();
            assertEquals(3, h.ctrl.ioCommandsReceived(READ), "only as many fetched as the CQ can take");
            int[] cids = new int[6];
            for (int i = 0; i < 3; i++) {
                Cqe c = q.poll();
                assertNotNull(c, "completion " + i);
                cids[i] = c.cid();
            }
            MemorySegment cq = cqMem.segment();
            assertEquals(0, cq.get(NvmeTestHost.LE_INT, 3 * 16L + 12), "the 4th slot stays empty");
            assertNull(q.poll());
            h.step();
            assertNull(q.poll(), "the head doorbell did not move: still nothing");
            q.release();
            h.step();
            for (int i = 3; i < 6; i++) {
                Cqe c = q.poll();
                assertNotNull(c, "completion " + i + " after the head moved");
                cids[i] = c.cid();
                assertEquals((i + 1) % 8, c.sqHead());
            }
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, cids);
        }
    }

    @Test
    void interruptsGoToEachCompletionQueuesVector() throws Exception {
        try (NvmeTestHost h = NvmeTestHost.stepped(config().msixVectors(4).build())) {
            List<InterruptVector> v = h.enableMsix(4);
            h.enable(8);
            assertEquals(0, h.ctrl.interruptsRaised(), "enabling raises nothing");
            Queue q1 = h.createIoQueues(1, 8, 1);
            Queue q2 = h.createIoQueues(2, 8, 3);
            Queue quiet = h.createIoQueues(3, 8, -1);
            assertTrue(v.get(0).await(NvmeTestHost.WAIT) >= 1, "admin completions on vector 0");
            DmaBuffer data = h.pool.allocate(4096);
            q1.run(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0)).assertOk("read on q1");
            assertEquals(1, v.get(1).await(NvmeTestHost.WAIT));
            q2.run(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0)).assertOk("read on q2");
            assertEquals(1, v.get(3).await(NvmeTestHost.WAIT));
            long raised = h.ctrl.interruptsRaised();
            quiet.run(Sqe.rw(READ, 1, 0, 1, data.deviceAddress(), 0)).assertOk("read on a queue without IEN");
            assertEquals(raised, h.ctrl.interruptsRaised(), "IEN = 0: no interrupt");
            assertEquals(0, v.get(1).pending() + v.get(2).pending() + v.get(3).pending());
            // Several completions posted in one pass: one interrupt for the queue.
            for (int i = 0; i < 4; i++) {
                q1.write(Sqe.rw(READ, 1, i, 1, data.deviceAddress(), 0));
            }
            q1.ring();
            h.ctrl.step();
            assertEquals(raised + 1, h.ctrl.interruptsRaised());
            assertEquals(1, v.get(1).await(NvmeTestHost.WAIT));
        }
    }

    @Test
    void nullModeMovesNoDataButValidatesAndCounts() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(64, 512).nullMode(true).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer buf = h.patterned(4096, 11);
            q.run(Sqe.rw(WRITE, 1, 0, 8, buf.deviceAddress(), 0)).assertOk("write");
            assertArrayEquals(new byte[4096], medium(h, 1, 0, 8), "writes are discarded");
            assertEquals(0, h.ctrl.allocatedBytes(1));
            buf.segment().fill((byte) 0x3c);
            q.run(Sqe.rw(READ, 1, 0, 8, buf.deviceAddress(), 0)).assertOk("read");
            assertEquals(0x3c, buf.segment().get(ValueLayout.JAVA_BYTE, 100), "reads copy nothing");
            assertEquals(NvmeStatus.LBA_OUT_OF_RANGE, q.run(Sqe.rw(READ, 1, 60, 8, buf.deviceAddress(), 0))
                    .nvmeStatus(), "still validated");
            q.run(Sqe.rw(READ, 1, 0, 8, 0x7000_0000L, 0)).assertOk("no DMA at all in null mode");
            assertTrue(h.iommu().faults().isEmpty());
            assertEquals(1, h.ctrl.ioCommandsCompleted(WRITE));
            assertEquals(3, h.ctrl.ioCommandsCompleted(READ));
        }
    }

    @Test
    void dmaToAnUnmappedPrpFailsTheCommandAndIsRecorded() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().namespace(64, 512).build())) {
            Queue q = h.createIoQueues(1, 16, -1);
            DmaBuffer freed = h.pool.allocate(4096);
            long stale = freed.deviceAddress();
            freed.close();
            Cqe c = q.run(Sqe.rw(READ, 1, 0, 8, stale, 0));
            assertEquals(NvmeStatus.DATA_TRANSFER_ERROR, c.nvmeStatus());
            assertFalse(c.dnr());
            List<IommuFault> faults = h.iommu().faults();
            assertEquals(1, faults.size());
            assertEquals(stale, faults.getFirst().deviceAddress());
            assertTrue(faults.getFirst().write(), "a read command makes the device write");
            DmaBuffer ok = h.pool.allocate(4096);
            DmaBuffer l = list(h, 0, ok.deviceAddress(), 0x7100_0000L); // second list entry unmapped
            Cqe partly = q.run(Sqe.rw(WRITE, 1, 0, 24, ok.deviceAddress(), l.deviceAddress()));
            assertEquals(NvmeStatus.DATA_TRANSFER_ERROR, partly.nvmeStatus());
            assertEquals(0x7100_0000L, h.iommu().faults().get(1).deviceAddress());
            assertFalse(h.iommu().faults().get(1).write(), "a write command makes the device read");
            assertEquals(0, h.csts() & 2, "a data fault is not a controller fault");
            q.run(Sqe.rw(READ, 1, 0, 1, ok.deviceAddress(), 0)).assertOk("the queue keeps working");
        }
    }

    @Test
    void unmappingALiveQueueRingIsFatal() {
        try (NvmeTestHost h = NvmeTestHost.enabled(config().build())) {
            Queue q = h.createIoQueues(1, 8, -1);
            long sqIova = q.sq.deviceAddress();
            q.write(Sqe.rw(READ, 1, 0, 1, h.pool.allocate(4096).deviceAddress(), 0));
            q.sq.close();
            q.ring();
            h.step();
            assertEquals(2, h.csts() & 2, "CFS");
            assertTrue(h.ctrl.fatalReason().contains("SQ 1 memory"), h.ctrl.fatalReason());
            assertEquals(sqIova, h.iommu().faults().getLast().deviceAddress(), "the fault is recorded");
            h.disable();
            h.enable(4);
            h.createIoQueues(1, 8, -1).run(Sqe.rw(READ, 1, 0, 1, h.pool.allocate(4096).deviceAddress(), 0))
                    .assertOk("after reset");
        }
    }
}
