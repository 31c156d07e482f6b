package dev.ferrum.bench;

import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.SpinLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Lock and unlock around a one-increment critical section: {@link SpinLock} (guard-only access to the value, owner
 * tracking, lock-order hooks compiled out: this JVM has no {@code -Dferrum.lockdep=true}) against a raw CAS spin
 * lock with the same lock word protocol ({@link RawSpinLock}), {@link ReentrantLock} and {@code synchronized}.
 *
 * <p>{@code uncontended}: one thread, the lock is always free. {@code contended}: two threads of one JMH group
 * take the same lock in a loop (on a 2-core machine, both cores); the score is the average time per lock/unlock
 * per thread. {@link LockdepBench} measures the lock-order checker.
 *
 * <p>Invariants: each lock guards only its own counter; the counters are touched only with their lock held.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class LockBench {

    /** The protected value. */
    public static final class Counter {
        long n;
    }

    /** One set of locks; per thread for the uncontended case, per group for the contended one. */
    public static class Locks {
        final SpinLock<Counter> spin = new SpinLock<>(new Counter(), LockClass.named("bench.spin"));
        final RawSpinLock raw = new RawSpinLock();
        final Counter rawCounter = new Counter();
        final ReentrantLock reentrant = new ReentrantLock();
        final Counter reentrantCounter = new Counter();
        final Counter monitor = new Counter();

        long spinLock() {
            try (Guard<Counter> g = spin.lock()) {
                return ++g.get().n;
            }
        }

        long rawCas() {
            raw.lock();
            try {
                return ++rawCounter.n;
            } finally {
                raw.unlock();
            }
        }

        long reentrantLock() {
            reentrant.lock();
            try {
                return ++reentrantCounter.n;
            } finally {
                reentrant.unlock();
            }
        }

        long synchronizedBlock() {
            synchronized (monitor) {
                return ++monitor.n;
            }
        }
    }

    @State(Scope.Thread)
    public static class ThreadLocks extends Locks {
    }

    @State(Scope.Group)
    public static class SharedLocks extends Locks {
    }

    // ---- uncontended ----

    @Benchmark
    public long uncontended_spinLock(ThreadLocks l) {
        return l.spinLock();
    }

    @Benchmark
    public long uncontended_rawCas(ThreadLocks l) {
        return l.rawCas();
    }

    @Benchmark
    public long uncontended_reentrantLock(ThreadLocks l) {
        return l.reentrantLock();
    }

    @Benchmark
    public long uncontended_synchronized(ThreadLocks l) {
        return l.synchronizedBlock();
    }

    // ---- two threads on one lock ----

    @Benchmark
    @Group("contended_spinLock")
    @GroupThreads(2)
    public long contended_spinLock(SharedLocks l) {
        return l.spinLock();
    }

    @Benchmark
    @Group("contended_rawCas")
    @GroupThreads(2)
    public long contended_rawCas(SharedLocks l) {
        return l.rawCas();
    }

    @Benchmark
    @Group("contended_reentrantLock")
    @GroupThreads(2)
    public long contended_reentrantLock(SharedLocks l) {
        return l.reentrantLock();
    }

    @Benchmark
    @Group("contended_synchronized")
    @GroupThreads(2)
    public long contended_synchronized(SharedLocks l) {
        return l.synchronizedBlock();
    }
}
