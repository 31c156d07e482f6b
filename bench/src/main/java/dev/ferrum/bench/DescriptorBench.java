package dev.ferrum.bench;

import dev.ferrum.bench.internal.Raw;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.nvme.internal.Cqe;
import dev.ferrum.nvme.internal.Sqe;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * DMA descriptors: the driver's {@link Sqe} and {@link Cqe} code on a {@link DmaBuffer}'s segment (bounds and
 * liveness checked per access) against the same stores and loads on raw addresses.
 *
 * <ul>
 *   <li>{@code sqeFill}: write one 64-byte NVMe Read submission entry (12 plain stores, figure 105 layout) at the
 *       tail of a 64-entry ring and advance the tail. No doorbell: that is an MMIO write, measured in
 *       {@link MmioBench}.</li>
 *   <li>{@code cqePoll}: at the head of a 64-entry completion ring: acquire-read DW3, compare its phase tag with
 *       the expected phase, read DW2 and DW0, advance the head (flipping the expected phase at the wrap). Then it
 *       re-arms the entry for the next lap (one release store of DW3 with the phase flipped, as the device's last
 *       write of a new entry would be) so that every poll finds a new entry; each variant does that store in its
 *       own style.</li>
 * </ul>
 *
 * <p>Diagnostics ({@code _safeUnaligned}, {@code _safeLongs}): the same work on the same checked segment written
 * the way proposed to make {@code Sqe}/{@code Cqe} cheaper (see {@code bench/ANALYSIS.md}).
 *
 * <p>Invariants: the rings are live from set-up to tear-down; every completion entry carries the phase the next
 * poll of its slot expects.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class DescriptorBench {
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle INT_U =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG_U =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final int ENTRIES = 64;
    private static final int READ = 0x02;
    private static final int PHASE_BIT = 1 << 16;

    private DmaPool pool;
    private DmaBuffer sqBuffer;
    private DmaBuffer cqBuffer;
    private MemorySegment sq;
    private MemorySegment cq;
    private long sqAddr;
    private long cqAddr;
    private long prp1;
    private int tail;
    private long lba;
    private int head;
    private int phase = 1;

    @Setup
    public void setup() {
        pool = DmaPool.builder(DeviceAddressSpace.identity()).name("bench descriptors")
                .memoryLock(DmaPool.MemoryLock.BEST_EFFORT).build();
        sqBuffer = pool.allocate(ENTRIES * Sqe.SIZE);
        cqBuffer = pool.allocate(ENTRIES * Cqe.SIZE);
        sq = sqBuffer.segment();
        cq = cqBuffer.segment();
        sqAddr = sq.address();
        cqAddr = cq.address();
        prp1 = 0x1234_5000L;
        for (int i = 0; i < ENTRIES; i++) {
            // Entry i: command ID i, status success, phase 1 (new on the first lap).
            cq.set(ValueLayout.JAVA_INT, i * Cqe.SIZE + 12L, i | PHASE_BIT);
            cq.set(ValueLayout.JAVA_INT, i * Cqe.SIZE + 8L, i | 1 << 16);
        }
    }

    @TearDown
    public void tearDown() {
        pool.close();
    }

    // ---- fill a submission entry ----

    @Benchmark
    public void sqeFill_safe() {
        int t = tail;
        long l = lba;
        Sqe.write(sq, (long) t * Sqe.SIZE, READ, t, 1, prp1, 0L, (int) l, (int) (l >>> 32), 7, 0, 0, 0);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    @Benchmark
    public void sqeFill_unsafe() {
        int t = tail;
        long l = lba;
        // SAFETY: t < ENTRIES: the 64 bytes at sqAddr + t * 64 are inside the live SQ buffer.
        long e = sqAddr + (long) t * 64;
        Raw.putInt(e, READ | t << 16);
        Raw.putInt(e + 4, 1);
        Raw.putLong(e + 8, 0L);
        Raw.putLong(e + 16, 0L);
        Raw.putLong(e + 24, prp1);
        Raw.putLong(e + 32, 0L);
        Raw.putInt(e + 40, (int) l);
        Raw.putInt(e + 44, (int) (l >>> 32));
        Raw.putInt(e + 48, 7);
        Raw.putInt(e + 52, 0);
        Raw.putInt(e + 56, 0);
        Raw.putInt(e + 60, 0);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    @Benchmark
    public void sqeFill_segment() {
        int t = tail;
        long l = lba;
        MemorySegment all = Raw.EVERYTHING;
        // SAFETY: as sqeFill_unsafe.
        long e = sqAddr + (long) t * 64;
        INT.set(all, e, READ | t << 16);
        INT.set(all, e + 4, 1);
        LONG.set(all, e + 8, 0L);
        LONG.set(all, e + 16, 0L);
        LONG.set(all, e + 24, prp1);
        LONG.set(all, e + 32, 0L);
        INT.set(all, e + 40, (int) l);
        INT.set(all, e + 44, (int) (l >>> 32));
        INT.set(all, e + 48, 7);
        INT.set(all, e + 52, 0);
        INT.set(all, e + 56, 0);
        INT.set(all, e + 60, 0);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    // ---- proposed cheaper safe fills (diagnostics, not the driver's code) ----

    /**
     * {@code Sqe.write}'s 12 stores through unaligned-layout handles: bounds and liveness are still checked per
     * store, the per-store alignment check is not (entries are 64-byte aligned by construction).
     */
    @Benchmark
    public void sqeFill_safeUnaligned() {
        int t = tail;
        long l = lba;
        MemorySegment s = sq;
        long e = (long) t * 64;
        INT_U.set(s, e, READ | t << 16);
        INT_U.set(s, e + 4, 1);
        LONG_U.set(s, e + 8, 0L);
        LONG_U.set(s, e + 16, 0L);
        LONG_U.set(s, e + 24, prp1);
        LONG_U.set(s, e + 32, 0L);
        INT_U.set(s, e + 40, (int) l);
        INT_U.set(s, e + 44, (int) (l >>> 32));
        INT_U.set(s, e + 48, 7);
        INT_U.set(s, e + 52, 0);
        INT_U.set(s, e + 56, 0);
        INT_U.set(s, e + 60, 0);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    /** The entry as eight little-endian 64-bit stores through unaligned handles (dword pairs packed). */
    @Benchmark
    public void sqeFill_safeLongs() {
        int t = tail;
        long l = lba;
        MemorySegment s = sq;
        long e = (long) t * 64;
        LONG_U.set(s, e, (READ | (long) t << 16) | 1L << 32);
        LONG_U.set(s, e + 8, 0L);
        LONG_U.set(s, e + 16, 0L);
        LONG_U.set(s, e + 24, prp1);
        LONG_U.set(s, e + 32, 0L);
        LONG_U.set(s, e + 40, l);
        LONG_U.set(s, e + 48, 7L);
        LONG_U.set(s, e + 56, 0L);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    /** The raw counterpart of {@code sqeFill_safeLongs}: the same eight stores on a raw address. */
    @Benchmark
    public void sqeFill_unsafeLongs() {
        int t = tail;
        long l = lba;
        // SAFETY: t < ENTRIES: the 64 bytes at sqAddr + t * 64 are inside the live SQ buffer.
        long e = sqAddr + (long) t * 64;
        Raw.putLong(e, (READ | (long) t << 16) | 1L << 32);
        Raw.putLong(e + 8, 0L);
        Raw.putLong(e + 16, 0L);
        Raw.putLong(e + 24, prp1);
        Raw.putLong(e + 32, 0L);
        Raw.putLong(e + 40, l);
        Raw.putLong(e + 48, 7L);
        Raw.putLong(e + 56, 0L);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    // ---- poll a completion entry's phase and read it ----

    @Benchmark
    public int cqePoll_safe() {
        long base = (long) head * Cqe.SIZE;
        int dw3 = Cqe.dw3Acquire(cq, base);
        if (((dw3 >>> 16) & 1) != phase) {
            return -1;
        }
        int dw2 = Cqe.dw2(cq, base);
        int dw0 = Cqe.dw0(cq, base);
        INT.setRelease(cq, base + 12L, dw3 ^ PHASE_BIT); // the device's next-lap entry
        if (++head == ENTRIES) {
            head = 0;
            phase ^= 1;
        }
        return dw0 + dw2 + dw3;
    }

    /**
     * {@code cqePoll_safe} with unaligned-layout handles (no per-access alignment check). Unaligned handles offer
     * plain access only, so acquire and release are explicit fences (on x86-64 the same code).
     */
    @Benchmark
    public int cqePoll_safeUnaligned() {
        MemorySegment c = cq;
        long base = (long) head * 16;
        int dw3 = (int) INT_U.get(c, base + 12L);
        VarHandle.acquireFence();
        if (((dw3 >>> 16) & 1) != phase) {
            return -1;
        }
        int dw2 = (int) INT_U.get(c, base + 8L);
        int dw0 = (int) INT_U.get(c, base);
        VarHandle.releaseFence();
        INT_U.set(c, base + 12L, dw3 ^ PHASE_BIT);
        if (++head == ENTRIES) {
            head = 0;
            phase ^= 1;
        }
        return dw0 + dw2 + dw3;
    }

    @Benchmark
    public int cqePoll_unsafe() {
        // SAFETY: head < ENTRIES: the 16 bytes at cqAddr + head * 16 are inside the live CQ buffer.
        long base = cqAddr + (long) head * 16;
        int dw3 = Raw.getIntAcquire(base + 12);
        if (((dw3 >>> 16) & 1) != phase) {
            return -1;
        }
        int dw2 = Raw.getInt(base + 8);
        int dw0 = Raw.getInt(base);
        Raw.putIntRelease(base + 12, dw3 ^ PHASE_BIT);
        if (++head == ENTRIES) {
            head = 0;
            phase ^= 1;
        }
        return dw0 + dw2 + dw3;
    }

    @Benchmark
    public int cqePoll_segment() {
        MemorySegment all = Raw.EVERYTHING;
        // SAFETY: as cqePoll_unsafe.
        long base = cqAddr + (long) head * 16;
        int dw3 = (int) INT.getAcquire(all, base + 12);
        if (((dw3 >>> 16) & 1) != phase) {
            return -1;
        }
        int dw2 = (int) INT.get(all, base + 8);
        int dw0 = (int) INT.get(all, base);
        INT.setRelease(all, base + 12, dw3 ^ PHASE_BIT);
        if (++head == ENTRIES) {
            head = 0;
            phase ^= 1;
        }
        return dw0 + dw2 + dw3;
    }
}
