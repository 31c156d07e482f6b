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

/**
 * A lookup takes a reference with {@code incNotZero} while the last holder drops its own: a freed object must
 * never be revived.
 */
@JCStressTest
@Description("Refcount.incNotZero racing the last decAndTest")
@Outcome(id = "true, false, 0", expect = ACCEPTABLE, desc = "the last reference went first: the lookup fails")
@Outcome(id = "false, true, 1", expect = ACCEPTABLE, desc = "the lookup went first: the object lives on")
@Outcome(expect = FORBIDDEN, desc = "a freed object was revived, or a count went wrong")
@State
public class RefcountIncNotZeroVsLastDec {

    private final Refcount refs = new Refcount(1);

    @Actor
    public void owner(ZZI_Result r) {
        r.r1 = refs.decAndTest();
    }

    @Actor
    public void lookup(ZZI_Result r) {
        r.r2 = refs.incNotZero();
    }

    @Arbiter
    public void arbiter(ZZI_Result r) {
        r.r3 = refs.read();
    }
}
