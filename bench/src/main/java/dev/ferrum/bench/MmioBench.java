package dev.ferrum.bench;

import dev.ferrum.bench.internal.Raw;
import dev.ferrum.memory.Field;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.Register32;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * Register access: {@link Mmio} (bounds, alignment and revocation checks; acquire/release/opaque ordering) against
 * the same access on a raw address, through {@code sun.misc.Unsafe} ({@code _unsafe}) and through the "everything"
 * segment ({@code _segment}), with the same ordering (see {@link Raw} for the mapping).
 *
 * <p>The "BAR" is 8 KiB of ordinary memory from a shared arena, as a mock device's BAR is. Offsets are constants,
 * as register offsets in a driver are ({@code long} literals: ARCHITECTURE rule 5). Writes store a changing value so
 * that no store is redundant. Each method is one register operation.
 *
 * <p>Invariants: every access is inside the live 8 KiB window at a naturally aligned constant offset.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MmioBench {
    private static final VarHandle H32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle H64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    /** NVMe CSTS: a 32-bit status register a driver polls. */
    private static final long CSTS = 0x1cL;
    /** NVMe CAP: a 64-bit register. */
    private static final long CAP = 0x0L;
    /** NVMe SQ0 tail doorbell: a 32-bit register a driver writes. */
    private static final long DOORBELL = 0x1000L;
    /** NVMe CC, with its IOSQES field [19:16]. */
    private static final Register32 CC = Register32.at(0x14L, "CC");
    private static final Field CC_IOSQES = CC.field("IOSQES", 16, 4);
    private static final int IOSQES_MASK = 0xf << 16;

    private Arena arena;
    private Mmio io;
    private long bar;
    private int value;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        MemorySegment segment = arena.allocate(0x2000, 4096);
        io = Mmio.of(segment, "bench BAR0");
        bar = segment.address();
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    // ---- read32, acquire ----

    @Benchmark
    public int read32_safe() {
        return io.read32(CSTS);
    }

    @Benchmark
    public int read32_unsafe() {
        // SAFETY: bar + CSTS is inside the 8 KiB the arena keeps alive until tearDown.
        return Raw.getIntAcquire(bar + CSTS);
    }

    @Benchmark
    public int read32_segment() {
        // SAFETY: as read32_unsafe.
        return (int) H32.getAcquire(Raw.EVERYTHING, bar + CSTS);
    }

    // ---- read32, relaxed ----

    @Benchmark
    public int read32Relaxed_safe() {
        return io.read32Relaxed(CSTS);
    }

    @Benchmark
    public int read32Relaxed_unsafe() {
        // SAFETY: as read32_unsafe.
        return Raw.getIntRelaxed(bar + CSTS);
    }

    @Benchmark
    public int read32Relaxed_segment() {
        // SAFETY: as read32_unsafe.
        return (int) H32.getOpaque(Raw.EVERYTHING, bar + CSTS);
    }

    // ---- read64, acquire ----

    @Benchmark
    public long read64_safe() {
        return io.read64(CAP);
    }

    @Benchmark
    public long read64_unsafe() {
        // SAFETY: bar + CAP (8 bytes) is inside the live 8 KiB.
        return Raw.getLongAcquire(bar + CAP);
    }

    @Benchmark
    public long read64_segment() {
        // SAFETY: as read64_unsafe.
        return (long) H64.getAcquire(Raw.EVERYTHING, bar + CAP);
    }

    // ---- write32, release ----

    @Benchmark
    public void write32_safe() {
        io.write32(DOORBELL, ++value);
    }

    @Benchmark
    public void write32_unsafe() {
        // SAFETY: bar + DOORBELL is inside the live 8 KiB.
        Raw.putIntRelease(bar + DOORBELL, ++value);
    }

    @Benchmark
    public void write32_segment() {
        // SAFETY: as write32_unsafe.
        H32.setRelease(Raw.EVERYTHING, bar + DOORBELL, ++value);
    }

    // ---- write32, relaxed ----

    @Benchmark
    public void write32Relaxed_safe() {
        io.write32Relaxed(DOORBELL, ++value);
    }

    @Benchmark
    public void write32Relaxed_unsafe() {
        // SAFETY: as write32_unsafe.
        Raw.putIntRelaxed(bar + DOORBELL, ++value);
    }

    @Benchmark
    public void write32Relaxed_segment() {
        // SAFETY: as write32_unsafe.
        H32.setOpaque(Raw.EVERYTHING, bar + DOORBELL, ++value);
    }

    // ---- bit-field update: acquire read, replace the field, release write ----

    @Benchmark
    public int fieldUpdate_safe() {
        return CC.update(io, CC_IOSQES, ++value & 0xf);
    }

    @Benchmark
    public int fieldUpdate_unsafe() {
        // SAFETY: bar + 0x14 is inside the live 8 KiB.
        long cc = bar + 0x14L;
        int v = (Raw.getIntAcquire(cc) & ~IOSQES_MASK) | (++value & 0xf) << 16;
        Raw.putIntRelease(cc, v);
        return v;
    }

    @Benchmark
    public int fieldUpdate_segment() {
        // SAFETY: as fieldUpdate_unsafe.
        long cc = bar + 0x14L;
        int v = ((int) H32.getAcquire(Raw.EVERYTHING, cc) & ~IOSQES_MASK) | (++value & 0xf) << 16;
        H32.setRelease(Raw.EVERYTHING, cc, v);
        return v;
    }
}
