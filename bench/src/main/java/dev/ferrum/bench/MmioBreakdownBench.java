package dev.ferrum.bench;

import dev.ferrum.bench.internal.Raw;
import dev.ferrum.memory.Mmio;
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
 * Where the cost of a checked register read goes: the same acquire read of one 32-bit register, peeling off one
 * layer of checking at a time.
 * <ul>
 *   <li>{@code mmioShared}: {@link Mmio#read32} over a shared-arena segment (what a driver uses; = {@link
 *       MmioBench#read32_safe});</li>
 *   <li>{@code mmioGlobal}: {@link Mmio#read32} over a global-scope view of the same memory (no liveness check:
 *       such a window could not be revoked);</li>
 *   <li>{@code segmentShared}: the segment VarHandle on the shared-arena segment, without {@code Mmio} (FFM's own
 *       bounds, alignment and liveness checks);</li>
 *   <li>{@code segmentGlobal}: the segment VarHandle on the exact-size global-scope view (bounds and alignment
 *       only);</li>
 *   <li>{@code segmentEverything}: the VarHandle on the "everything" segment (= {@link MmioBench#read32_segment});</li>
 *   <li>{@code unsafe}: {@code Unsafe} (= {@link MmioBench#read32_unsafe}).</li>
 * </ul>
 *
 * <p>Invariants: every variant reads the same 32-bit register of the same live memory with acquire ordering.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MmioBreakdownBench {
    private static final VarHandle H32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final long CSTS = 0x1cL;

    private Arena arena;
    private MemorySegment shared;
    private MemorySegment global;
    private Mmio mmioShared;
    private Mmio mmioGlobal;
    private long bar;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        shared = arena.allocate(0x2000, 4096);
        bar = shared.address();
        // SAFETY: a view of the arena's 8 KiB, used only until tearDown closes the arena. A slice of the baselines'
        // global-scope segment, so that the raw segment is made in dev.ferrum.bench.internal, the allowed package.
        global = Raw.EVERYTHING.asSlice(bar, 0x2000);
        mmioShared = Mmio.of(shared, "bench BAR0 (shared arena)");
        mmioGlobal = Mmio.of(global, "bench BAR0 (global view)");
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int read32_mmioShared() {
        return mmioShared.read32(CSTS);
    }

    @Benchmark
    public int read32_mmioGlobal() {
        return mmioGlobal.read32(CSTS);
    }

    @Benchmark
    public int read32_segmentShared() {
        return (int) H32.getAcquire(shared, CSTS);
    }

    @Benchmark
    public int read32_segmentGlobal() {
        return (int) H32.getAcquire(global, CSTS);
    }

    @Benchmark
    public int read32_segmentEverything() {
        // SAFETY: bar + CSTS is inside the live 8 KiB.
        return (int) H32.getAcquire(Raw.EVERYTHING, bar + CSTS);
    }

    @Benchmark
    public int read32_unsafe() {
        // SAFETY: bar + CSTS is inside the live 8 KiB.
        return Raw.getIntAcquire(bar + CSTS);
    }
}
