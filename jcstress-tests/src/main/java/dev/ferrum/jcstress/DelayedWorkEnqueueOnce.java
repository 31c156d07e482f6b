package dev.ferrum.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.ferrum.driver.workqueue.DelayedWork;
import dev.ferrum.driver.workqueue.Workqueue;
import java.time.Duration;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZZ_Result;

/**
 * Two threads enqueue the same {@link DelayedWork} with a long delay: it stays pending for the whole test, so
 * exactly one enqueue may succeed, and the arbiter's cancel must find it armed.
 */
@JCStressTest
@Description("DelayedWork: racing enqueues of one pending item, exactly one succeeds")
@Outcome(id = {"true, false, true", "false, true, true"}, expect = ACCEPTABLE,
        desc = "exactly one armed the timer; cancel disarmed it before it ran")
@Outcome(expect = FORBIDDEN, desc = "both or neither armed it, or cancel did not find it")
@State
public class DelayedWorkEnqueueOnce {

    static final Workqueue QUEUE = Workqueue.builder("jcstress-delayed").build();
    private static final Duration DELAY = Duration.ofHours(1);

    private int runs;
    private final DelayedWork work = new DelayedWork(() -> runs++);

    @Actor
    public void actor1(ZZZ_Result r) {
        r.r1 = QUEUE.enqueue(work, DELAY);
    }

    @Actor
    public void actor2(ZZZ_Result r) {
        r.r2 = QUEUE.enqueue(work, DELAY);
    }

    @Arbiter
    public void arbiter(ZZZ_Result r) {
        r.r3 = work.cancel() && !work.isPending() && runs == 0;
    }
}
