package dev.ferrum.bench;

import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.LockOrderChecker;
import dev.ferrum.driver.sync.SpinLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;

/**
 * {@link SpinLock} lock/unlock, uncontended, in a JVM started with {@code -Dferrum.lockdep=true} (the lock-order
 * checker is compiled in): {@code checker=off} switches it off at run time ({@link LockOrderChecker#setEnabled}),
 * {@code checker=on} leaves it on (every acquisition walks the stack to record its site). Compare with
 * {@link LockBench#uncontended_spinLock}, where the checker is compiled out.
 *
 * <p>Invariants: the checker's state is set in set-up and not changed during a trial.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(jvmArgsAppend = "-Dferrum.lockdep=true")
public class LockdepBench {
    @Param({"off", "on"})
    public String checker;

    private final SpinLock<LockBench.Counter> spin =
            new SpinLock<>(new LockBench.Counter(), LockClass.named("bench.lockdep"));

    @Setup
    public void setup() {
        if (!LockOrderChecker.isAvailable()) {
            throw new IllegalStateException("LockdepBench needs a JVM started with -D" + LockOrderChecker.PROPERTY
                    + "=true (its @Fork adds it; with forks=0 give it to the host JVM)");
        }
        LockOrderChecker.setEnabled(checker.equals("on"));
    }

    @Benchmark
    public long spinLock() {
        try (Guard<LockBench.Counter> g = spin.lock()) {
            return ++g.get().n;
        }
    }
}
