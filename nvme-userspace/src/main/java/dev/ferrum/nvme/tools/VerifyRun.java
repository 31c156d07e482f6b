package dev.ferrum.nvme.tools;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoQueuePair;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NvmeController;

import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The engine of {@code ferrum nvme verify}: writes self-describing patterns (every block carries its LBA, the pass
 * and the seed, then pseudo-random bytes derived from them) across the namespace in several transfer sizes,
 * including sizes that need PRP lists and sizes beyond the controller's MDTS (split by the driver), reads them back
 * and compares; then checks Write Zeroes, Deallocate and Flush. Each extent starts at a random LBA, and its data
 * sits at a random dword-aligned offset within a page of the write and of the read buffer, so PRP1 points into the
 * middle of a page and the PRP entries after it start at page boundaries, as they do for unaligned host buffers.
 */
final class VerifyRun {
    private static final long PAGE = 4096;

    record Result(long extents, long bytes, long mismatches, List<String> problems) {
        boolean ok() {
            return mismatches == 0 && problems.isEmpty();
        }
    }

    private final NvmeController ctrl;
    private final Namespace ns;
    private final long seed;
    private final int passes;
    private final PrintWriter out;

    VerifyRun(NvmeController ctrl, Namespace ns, long seed, int passes, PrintWriter out) {
        this.ctrl = ctrl;
        this.ns = ns;
        this.seed = seed;
        this.passes = passes;
        this.out = out;
    }

    /** Transfer sizes in blocks: one block, two pages, a PRP list, the MDTS limit and beyond it. */
    List<Integer> sizes() {
        int bs = ns.blockSize();
        long mdts = ctrl.maxCommandBytes();
        List<Integer> sizes = new ArrayList<>();
        for (long bytes : new long[] {bs, 8192, 3 * 4096 + bs, 64 * 1024, mdts, mdts * 2 + bs}) {
            int blocks = (int) Math.max(1, bytes / bs);
            if (blocks <= ns.blockCount() / 4 && !sizes.contains(blocks)) {
                sizes.add(blocks);
            }
        }
        return sizes;
    }

    Result run() {
        long extents = 0;
        long bytes = 0;
        long mismatches = 0;
        List<String> problems = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(seed);
        int maxBlocks = sizes().stream().mapToInt(Integer::intValue).max().orElse(1);
        // One page more than the largest extent, so that the extent fits at any offset within the first page.
        long bufferBytes = (long) maxBlocks * ns.blockSize() + PAGE;
        try (IoQueuePair qp = ctrl.createQueuePair();
             DmaBuffer wbuf = ctrl.dmaPool().allocate(bufferBytes);
             DmaBuffer rbuf = ctrl.dmaPool().allocate(bufferBytes)) {
            for (int pass = 0; pass < passes; pass++) {
                for (int blocks : sizes()) {
                    long lba = random.nextLong(ns.blockCount() - blocks + 1);
                    long length = (long) blocks * ns.blockSize();
                    // Data at a dword-aligned offset inside a page: PRP1 is not page aligned (NVMe allows that).
                    DmaBuffer w = wbuf.slice(random.nextInt((int) (PAGE / 4)) * 4L, length);
                    DmaBuffer r = rbuf.slice(random.nextInt((int) (PAGE / 4)) * 4L, length);
                    fillPattern(w.segment(), lba, blocks, pass);
                    qp.write(ns, lba, blocks, w);
                    r.segment().fill((byte) 0x5a);
                    qp.read(ns, lba, blocks, r);
                    long bad = compare(w.segment(), r.segment(), length);
                    extents++;
                    bytes += length;
                    if (bad >= 0) {
                        mismatches++;
                        problems.add(String.format("pass %d: %d block(s) at LBA %d (buffer offsets %d/%d): first "
                                + "difference at byte %d", pass, blocks, lba, w.deviceAddress() - wbuf.deviceAddress(),
                                r.deviceAddress() - rbuf.deviceAddress(), bad));
                    }
                }
                // First and last blocks of the namespace.
                for (long lba : new long[] {0, ns.blockCount() - 1}) {
                    fillPattern(wbuf.segment(), lba, 1, pass);
                    qp.write(ns, lba, 1, wbuf);
                    qp.read(ns, lba, 1, rbuf);
                    extents++;
                    bytes += ns.blockSize();
                    if (compare(wbuf.segment(), rbuf.segment(), ns.blockSize()) >= 0) {
                        mismatches++;
                        problems.add("pass " + pass + ": boundary block " + lba + " differs");
                    }
                }
            }
            int zb = (int) Math.min(64, ns.blockCount());
            if (ctrl.info().supportsWriteZeroes()) {
                long lba = random.nextLong(ns.blockCount() - zb + 1);
                fillPattern(wbuf.segment(), lba, zb, 99);
                qp.write(ns, lba, zb, wbuf);
                qp.writeZeroes(ns, lba, zb);
                qp.read(ns, lba, zb, rbuf);
                if (!allZero(rbuf.segment(), (long) zb * ns.blockSize())) {
                    problems.add("Write Zeroes at LBA " + lba + " did not read back as zeroes");
                }
            }
            if (ctrl.info().supportsDeallocate()) {
                long lba = random.nextLong(ns.blockCount() - zb + 1);
                qp.write(ns, lba, zb, wbuf);
                qp.deallocate(ns, lba, zb);
                qp.read(ns, lba, zb, rbuf);
                if (ns.info().deallocatedReadsZero() && !allZero(rbuf.segment(), (long) zb * ns.blockSize())) {
                    problems.add("deallocated blocks at LBA " + lba + " did not read back as zeroes, though the "
                            + "namespace reports that they do (DLFEAT)");
                }
            }
            qp.flush(ns);
        }
        return new Result(extents, bytes, mismatches, problems);
    }

    /** Block k of the pattern: LBA, pass and seed, then bytes from a generator seeded by them. */
    void fillPattern(MemorySegment seg, long lba, int blocks, int pass) {
        int bs = ns.blockSize();
        for (int k = 0; k < blocks; k++) {
            long base = (long) k * bs;
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, base, lba + k);
            seg.set(ValueLayout.JAVA_INT_UNALIGNED, base + 8, pass);
            seg.set(ValueLayout.JAVA_INT_UNALIGNED, base + 12, (int) seed);
            SplittableRandom r = new SplittableRandom(seed ^ (lba + k) * 0x9E3779B97F4A7C15L ^ pass);
            for (long off = 16; off + 8 <= bs; off += 8) {
                seg.set(ValueLayout.JAVA_LONG_UNALIGNED, base + off, r.nextLong());
            }
        }
    }

    /** {@return the first differing byte offset, or -1} */
    static long compare(MemorySegment a, MemorySegment b, long length) {
        return a.asSlice(0, length).mismatch(b.asSlice(0, length));
    }

    static boolean allZero(MemorySegment s, long length) {
        for (long off = 0; off + 8 <= length; off += 8) {
            if (s.get(ValueLayout.JAVA_LONG_UNALIGNED, off) != 0) {
                return false;
            }
        }
        return true;
    }

    void report(Result r) {
        out.printf("verify: %d extent(s), %.1f MiB written and read back, %d mismatch(es)%n", r.extents(),
                r.bytes() / (double) (1 << 20), r.mismatches());
        for (String p : r.problems()) {
            out.println("  " + p);
        }
        out.println(r.ok() ? "verify: OK" : "verify: FAILED");
    }
}
