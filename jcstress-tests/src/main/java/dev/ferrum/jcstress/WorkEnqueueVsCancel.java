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

/** An enqueue races a cancel: cancel returns true exactly when the execution never happens. */
@JCStressTest
@Description("Work: cancel() reports true exactly when it prevented the execution")
@Outcome(id = "true, true, 0", expect = ACCEPTABLE, desc = "cancelled while pending: never ran")
@Outcome(id = "true, false, 1", expect = ACCEPTABLE, desc = "cancel came before the enqueue, or too late: ran")
@Outcome(expect = FORBIDDEN, desc = "cancel lied, or the idle item could not be queued")
@State
public class WorkEnqueueVsCancel {

    static final Workqueue QUEUE = Workqueue.builder("jcstress-cancel").maxActive(2).build();

    private int runs;
    private final Work work = new Work(() -> runs++);

    @Actor
    public void enqueuer(ZZI_Result r) {
        r.r1 = QUEUE.enqueue(work);
    }

    @Actor
    public void canceller(ZZI_Result r) {
        r.r2 = work.cancel();
    }

    @Arbiter
    public void arbiter(ZZI_Result r) {
        work.flush();
        r.r3 = runs;
    }
}
