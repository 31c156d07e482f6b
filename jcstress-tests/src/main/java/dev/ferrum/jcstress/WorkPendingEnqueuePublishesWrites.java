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
 * The interrupt-handler pattern: record an event, then kick the bottom half. Even when the kick returns false
 * (already pending) the pending execution must see the event, so the last execution always sees it.
 */
@JCStressTest
@Description("Work: an enqueue that returns false still publishes the caller's writes to the pending execution")
@Outcome(id = {"true, false, 1", "false, true, 1", "true, true, 1"}, expect = ACCEPTABLE,
        desc = "the last execution saw the event")
@Outcome(expect = FORBIDDEN, desc = "the event was missed, or no enqueue succeeded")
@State
public class WorkPendingEnqueuePublishesWrites {

    static final Workqueue QUEUE = Workqueue.builder("jcstress-publish").maxActive(2).build();

    private int event; // plain on purpose: only the workqueue's ordering makes it visible
    private int seen = -1;
    private final Work work = new Work(() -> seen = event);

    @Actor
    public void interruptHandler(ZZI_Result r) {
        event = 1;
        r.r1 = QUEUE.enqueue(work);
    }

    @Actor
    public void otherKick(ZZI_Result r) {
        r.r2 = QUEUE.enqueue(work);
    }

    @Arbiter
    public void arbiter(ZZI_Result r) {
        work.flush();
        r.r3 = seen;
    }
}
