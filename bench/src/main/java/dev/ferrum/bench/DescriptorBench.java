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
 *   <li>{@code sqeFill}: write one 64-byte NVMe Read submission entry (eight packed 64-bit stores, figure 105
 *       layout, as {@code Sqe.write} does) at the tail of a 64-entry ring and advance the tail. No doorbell: that is
 *       an MMIO write, measured in {@link MmioBench}.</li>
 *   <li>{@code cqePoll}: at the head of a 64-entry completion ring: one 64-bit acquire load of DW2 and DW3 (as
 *       {@code Cqe.dw23Acquire}), compare the phase tag with the expected phase, read DW0, advance the head
 *       (flipping the expected phase at the wrap). Then it
 *       re-arms the entry for the next lap (one release store of DW3 with the phase flipped, as the device's last
 *       write of a new entry would be) so that every poll finds a new entry; each variant does that store in its
 *       own style.</li>
 * </ul>
 *
 * <p>Diagnostic: {@code sqeFill_safeTwelveStores}, the former twelve-store {@code Sqe.write}, for the before/after in
 * {@code bench/ANALYSIS.md}.
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

    @Benchmark
    public void sqeFill_segment() {
        int t = tail;
        long l = lba;
        MemorySegment all = Raw.EVERYTHING;
        // SAFETY: as sqeFill_unsafe.
        long e = sqAddr + (long) t * 64;
        LONG_U.set(all, e, (READ | (long) t << 16) | 1L << 32);
        LONG_U.set(all, e + 8, 0L);
        LONG_U.set(all, e + 16, 0L);
        LONG_U.set(all, e + 24, prp1);
        LONG_U.set(all, e + 32, 0L);
        LONG_U.set(all, e + 40, l);
        LONG_U.set(all, e + 48, 7L);
        LONG_U.set(all, e + 56, 0L);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    /**
     * Diagnostic, the former {@code Sqe.write}: twelve aligned 32/64-bit stores on the checked segment (before the
     * change to eight packed stores that {@code bench/ANALYSIS.md} proposed).
     */
    @Benchmark
    public void sqeFill_safeTwelveStores() {
        int t = tail;
        long l = lba;
        MemorySegment s = sq;
        long e = (long) t * 64;
        INT.set(s, e, READ | t << 16);
        INT.set(s, e + 4, 1);
        LONG.set(s, e + 8, 0L);
        LONG.set(s, e + 16, 0L);
        LONG.set(s, e + 24, prp1);
        LONG.set(s, e + 32, 0L);
        INT.set(s, e + 40, (int) l);
        INT.set(s, e + 44, (int) (l >>> 32));
        INT.set(s, e + 48, 7);
        INT.set(s, e + 52, 0);
        INT.set(s, e + 56, 0);
        INT.set(s, e + 60, 0);
        tail = (t + 1) & (ENTRIES - 1);
        lba = l + 8;
    }

    // ---- poll a completion entry's phase and read it ----

    @Benchmark
    public int cqePoll_safe() {
        long base = (long) head * Cqe.SIZE;
        long dw23 = Cqe.dw23Acquire(cq, base);
        int dw3 = (int) (dw23 >>> 32);
        if (((dw3 >>> 16) & 1) != phase) {
            return -1;
        }
        int dw0 = Cqe.dw0(cq, base);
        INT.setRelease(cq, base + 12L, dw3 ^ PHASE_BIT); // the device's next-lap entry
        if (++head == ENTRIES) {
            head = 0;
            phase ^= 1;
        }
        return dw0 + (int) dw23 + dw3;
    }

    @Benchmark
    public int cqePoll_unsafe() {
        // SAFETY: head < ENTRIES: the 16 bytes at cqAddr + head * 16 are inside the live CQ buffer.
        long base = cqAddr + (long) head * 16;
        long dw23 = Raw.getLongAcquire(base + 8);
        int dw3 = (int) (dw23 >>> 32);
        if (((dw3 >>> 16) & 1) != phase) {
            return -1;
        }
        int dw0 = Raw.getInt(base);
        Raw.putIntRelease(base + 12, dw3 ^ PHASE_BIT);
        if (++head == ENTRIES) {
            head = 0;
            phase ^= 1;
        }
        return dw0 + (int) dw23 + dw3;
    }

    @Benchmark
    public int cqePoll_segment() {
        MemorySegment all = Raw.EVERYTHING;
        // SAFETY: as cqePoll_unsafe.
        long base = cqAddr + (long) head * 16;
        long dw23 = (long) LONG.getAcquire(all, base + 8);
        int dw3 = (int) (dw23 >>> 32);
        if (((dw3 >>> 16) & 1) != phase) {
            return -1;
        }
        int dw0 = (int) INT.get(all, base);
        INT.setRelease(all, base + 12, dw3 ^ PHASE_BIT);
        if (++head == ENTRIES) {
            head = 0;
            phase ^= 1;
        }
        return dw0 + (int) dw23 + dw3;
    }
}
