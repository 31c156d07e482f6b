package dev.ferrum.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

/** Two threads replace an immutable value under a {@link Mutex} (through {@code update}): none may be lost. */
@JCStressTest
@Description("Mutex mutual exclusion: value replacement through update()")
@Outcome(id = "2", expect = ACCEPTABLE, desc = "both updates happened, one after the other")
@Outcome(expect = FORBIDDEN, desc = "an update was lost: the critical sections overlapped")
@State
public class MutexMutualExclusion {

    private final Mutex<Integer> lock = new Mutex<>(0, LockClass.named("jcstress.mutex"));

    @Actor
    public void actor1() {
        lock.update(v -> v + 1);
    }

    @Actor
    public void actor2() {
        lock.update(v -> v + 1);
    }

    @Arbiter
    public void arbiter(I_Result r) {
        r.r1 = lock.with(v -> v);
    }
}
