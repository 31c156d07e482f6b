package dev.ferrum.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

/**
 * Two threads enqueue the same idle {@link Work}. While it is pending only one enqueue succeeds; if the first
 * execution already started, the second enqueue succeeds too. Either way the function runs exactly once per
 * successful enqueue.
 */
@JCStressTest
@Description("Work: racing enqueues of one item, one execution per successful enqueue")
@Outcome(id = {"true, false, 1", "false, true, 1"}, expect = ACCEPTABLE, desc = "one enqueue won while pending")
@Outcome(id = "true, true, 2", expect = ACCEPTABLE,
        desc = "the first execution had started (pending cleared) before the second enqueue")
@Outcome(expect = FORBIDDEN, desc = "both lost, or executions do not match successful enqueues")
@State
public class WorkEnqueueOncePerExecution {

    static final Workqueue QUEUE = Workqueue.builder("jcstress-enqueue").maxActive(2).build();

    private int runs; // plain: executions of one item are ordered, never concurrent
    private final Work work = new Work(() -> runs++);

    @Actor
    public void actor1(ZZI_Result r) {
        r.r1 = QUEUE.enqueue(work);
    }

    @Actor
    public void actor2(ZZI_Result r) {
        r.r2 = QUEUE.enqueue(work);
    }

    @Arbiter
    public void arbiter(ZZI_Result r) {
        work.flush();
        r.r3 = runs;
    }
}
