package dev.ferrum.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ferrum.driver.sync.Arc;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/** Two threads close the last two handles of an {@link Arc} at once: the resource is released exactly once. */
@JCStressTest
@Description("Arc: racing last closes release exactly once, and the release sees both holders' writes")
@Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "released once, after both holders' writes")
@Outcome(expect = FORBIDDEN, desc = "released twice or never, or the release missed a holder's write")
@State
public class ArcLastCloseReleasesOnce {

    /** Written by each holder before it closes; read by the release. */
    static final class Resource {
        int a;
        int b;
    }

    private int releases;
    private int seenAtRelease;
    private final Arc<Resource> first = Arc.of(new Resource(), res -> {
        releases++;
        seenAtRelease = res.a + res.b;
    });
    private final Arc<Resource> second = first.clone();

    @Actor
    public void holder1() {
        first.get().a = 1;
        first.close();
    }

    @Actor
    public void holder2() {
        second.get().b = 1;
        second.close();
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r1 = releases;
        r.r2 = seenAtRelease;
    }
}
