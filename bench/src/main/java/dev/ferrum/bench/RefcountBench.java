package dev.ferrum.bench;

import dev.ferrum.driver.sync.Arc;
import dev.ferrum.driver.sync.Refcount;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Take and drop one reference, single-threaded (the count stays at 1 between operations):
 * <ul>
 *   <li>{@code refcount_safe}: {@link Refcount#inc()} + {@link Refcount#decAndTest()} (saturation checks; release
 *       decrement, acquire fence on the last);</li>
 *   <li>{@code refcount_varHandle}: the same two atomic operations on an {@code int} field through a
 *       {@link VarHandle} ({@code getAndAdd}, {@code getAndAddRelease}, acquire fence on the last), no checks;</li>
 *   <li>{@code refcount_atomicInteger}: {@code incrementAndGet} + {@code decrementAndGet() == 0};</li>
 *   <li>{@code arc_safe}: {@link Arc#clone()} + {@link Arc#close()} of the new handle: the refcount operations
 *       plus a new handle object and the handle's closed-flag compare-and-set. Its baseline is the bare count
 *       ({@code refcount_varHandle}).</li>
 * </ul>
 *
 * <p>Invariants: the counts are 1 between operations; the Arc's resource is never released during a trial.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RefcountBench {
    private static final VarHandle COUNT;

    static {
        try {
            COUNT = MethodHandles.lookup().findVarHandle(RefcountBench.class, "count", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Refcount refcount = new Refcount(1);
    private final AtomicInteger atomic = new AtomicInteger(1);
    @SuppressWarnings("unused") // through COUNT
    private volatile int count = 1;
    private final Arc<Object> arc = Arc.of(new Object(), o -> { });

    @Benchmark
    public boolean refcount_safe() {
        refcount.inc();
        return refcount.decAndTest();
    }

    @Benchmark
    public boolean refcount_varHandle() {
        COUNT.getAndAdd(this, 1);
        if ((int) COUNT.getAndAddRelease(this, -1) == 1) {
            VarHandle.acquireFence();
            return true;
        }
        return false;
    }

    @Benchmark
    public boolean refcount_atomicInteger() {
        atomic.incrementAndGet();
        return atomic.decrementAndGet() == 0;
    }

    @Benchmark
    public Arc<Object> arc_safe() {
        Arc<Object> handle = arc.clone();
        handle.close();
        return handle;
    }
}
