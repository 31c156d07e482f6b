package dev.ferrum.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ferrum.driver.sync.Refcount;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

/** Two holders of a refcount of 2 drop their references at once: exactly one must see zero. */
@JCStressTest
@Description("Refcount.decAndTest: exactly one of the racing last decrements reports zero")
@Outcome(id = {"true, false, 0", "false, true, 0"}, expect = ACCEPTABLE, desc = "exactly one frees the object")
@Outcome(expect = FORBIDDEN, desc = "double free, leak, or a wrong final count")
@State
public class RefcountDecAndTestOnce {

    private final Refcount refs = new Refcount(2);

    @Actor
    public void actor1(ZZI_Result r) {
        r.r1 = refs.decAndTest();
    }

    @Actor
    public void actor2(ZZI_Result r) {
        r.r2 = refs.decAndTest();
    }

    @Arbiter
    public void arbiter(ZZI_Result r) {
        r.r3 = refs.read();
    }
}
