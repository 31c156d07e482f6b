package dev.ferrum.example.javadoc;

import dev.ferrum.driver.workqueue.DelayedWork;
import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The examples of the {@code dev.ferrum.driver.workqueue} Javadoc, compiled and run. */
class WorkqueueExamplesTest {

    // @start region="work"
    /** A completion queue whose interrupt handler defers the real work to a bottom half. */
    static final class CompletionQueue {
        private final AtomicInteger interrupts = new AtomicInteger();
        private final AtomicInteger drained = new AtomicInteger();
        private final Work drain = new Work("example.cq.drain", this::drainCompletions); // embedded, made once

        /** On the interrupt thread: cheap, never blocks, allocates nothing. */
        void onInterrupt() {
            interrupts.incrementAndGet();
            Workqueue.systemHighPri().enqueue(drain);          // false if already pending: runs once for both
        }

        private void drainCompletions() {                      // on a workqueue thread, never twice at once
            drained.set(interrupts.get());
        }

        void shutdown() {
            drain.cancelSync();                                // not queued, not running, when this returns
        }
    }
    // @end

    @Test
    void anInterruptHandlerQueuesItsBottomHalf() {
        CompletionQueue cq = new CompletionQueue();
        cq.onInterrupt();
        cq.onInterrupt();
        cq.drain.flush();                                      // waits for the execution queued last
        assertEquals(2, cq.drained.get(), "every interrupt before the last enqueue is seen by the execution");
        cq.shutdown();
        assertFalse(cq.drain.isPending());
    }

    @Test
    void aQueueOfOnesOwnIsOrderedAndDestroyedAtTheEnd() {
        List<String> log = new CopyOnWriteArrayList<>();
        // @start region="own-queue"
        Workqueue resets = Workqueue.builder("example-reset").ordered().build(); // one item at a time, FIFO
        Work first = new Work("first", () -> log.add("first"));
        Work second = new Work("second", () -> log.add("second"));
        resets.enqueue(first);
        resets.enqueue(second);
        resets.destroy();                                      // runs what is queued, then refuses more work
        assertThrows(IllegalStateException.class, () -> resets.enqueue(first));
        // @end
        assertEquals(List.of("first", "second"), log);
        assertTrue(resets.isDestroyed());
    }

    @Test
    void delayedWorkRunsAfterItsDelayOrNotAtAllWhenCancelled() {
        AtomicInteger checks = new AtomicInteger();
        // @start region="delayed"
        DelayedWork watchdog = new DelayedWork("example.watchdog", checks::incrementAndGet);
        Workqueue.system().enqueue(watchdog, Duration.ofSeconds(30)); // a timeout check, 30 s from now
        assertTrue(watchdog.isTimerArmed());
        watchdog.cancelSync();                                 // the command completed in time
        // @end
        assertFalse(watchdog.isPending());
        Workqueue.system().enqueue(watchdog, Duration.ZERO);
        watchdog.flush();
        assertEquals(1, checks.get());
    }
}
