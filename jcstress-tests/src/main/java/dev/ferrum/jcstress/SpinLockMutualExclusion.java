package dev.ferrum.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.SpinLock;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/** Two threads increment a plain counter under a {@link SpinLock}: no increment may be lost. */
@JCStressTest
@Description("SpinLock mutual exclusion: a non-atomic read-modify-write under the lock")
@Outcome(id = "2", expect = ACCEPTABLE, desc = "both increments happened, one after the other")
@Outcome(expect = FORBIDDEN, desc = "an increment was lost: the critical sections overlapped")
@State
public class SpinLockMutualExclusion {

    /** Deliberately not thread-safe. */
    static final class Counter {
        int n;
    }

    // A named class: constructing a lock with the default (creation-site) class walks the stack.
    private final SpinLock<Counter> lock = new SpinLock<>(new Counter(), LockClass.named("jcstress.spin"));

    private void increment() {
        try (Guard<Counter> g = lock.lock()) {
            Counter c = g.get();
            c.n = c.n + 1;
        }
    }

    @Actor
    public void actor1() {
        increment();
    }

    @Actor
    public void actor2() {
        increment();
    }

    @Arbiter
    public void arbiter(I_Result r) {
        try (Guard<Counter> g = lock.lock()) {
            r.r1 = g.get().n;
        }
    }
}
