package dev.ferrum.agx;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end, threaded: many jobs from several threads, each completing exactly once with the right result. */
class ConcurrencyTest {
    private static final int THREADS = 4;
    private static final int JOBS = 200;

    /**
     * Each job fills one word of a shared output buffer with a value only it writes. Threads 0 and 1 use queues of
     * their own, threads 2 and 3 share the default queue.
     */
    private static void run(TestBed t, boolean ownQueues) throws Exception {
        GpuBuffer out = t.gpu.allocate(4L * THREADS * JOBS);
        AtomicIntegerArray completions = new AtomicIntegerArray(THREADS * JOBS);
        Fence[] fences = new Fence[THREADS * JOBS];
        Set<Long> jobIds = ConcurrentHashMap.newKeySet();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int th = 0; th < THREADS; th++) {
            int me = th;
            threads.add(Thread.ofPlatform().name("agx-submitter-" + th).start(() -> {
                ComputeQueue q = ownQueues || me < 2 ? t.gpu.createQueue() : t.gpu.defaultQueue();
                try {
                    start.await();
                    for (int j = 0; j < JOBS; j++) {
                        int index = me * JOBS + j;
                        Fence f = q.submit(ComputeJob.fill(out, 4L * index, 4, value(index)));
                        assertTrue(jobIds.add(f.jobId()), "job IDs are unique");
                        fences[index] = f.whenSignalled(x -> completions.incrementAndGet(index));
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (q != t.gpu.defaultQueue()) {
                        q.close(); // in-flight jobs still complete
                    }
                }
            }));
        }
        start.countDown();
        for (Thread th : threads) {
            th.join(TestBed.WAIT.toMillis());
            assertFalse(th.isAlive(), () -> th.getName() + " is still submitting after " + TestBed.WAIT
                    + ": a submitter hung, at\n" + stack(th));
        }
        if (failure.get() != null) {
            throw new AssertionError("a submitter failed", failure.get());
        }
        for (Fence f : fences) {
            TestBed.awaitOk(f);
        }
        int[] words = out.readInts(0, THREADS * JOBS);
        for (int i = 0; i < THREADS * JOBS; i++) {
            assertEquals(value(i), words[i], "word of job " + i);
            assertEquals(1, completions.get(i), "completions of job " + i);
            assertEquals(1, t.firmware.executions(fences[i].jobId()), "firmware executions of job " + i);
        }
        AgxDevice.Stats s = t.gpu.stats();
        assertEquals(THREADS * JOBS, s.submitted());
        assertEquals(THREADS * JOBS, s.completed());
        assertEquals(0, s.failed());
        assertEquals(THREADS * JOBS, t.firmware.executedCommands(), "nothing ran twice or extra");
        TestBed.await("every queue to give back its event slot", () -> t.gpu.events().slotsInUse() == 0);
        out.close();
        t.assertNoJobResourcesLeft();
        for (int i = 0; i < THREADS * JOBS; i++) {
            assertEquals(1, completions.get(i), "still exactly one completion of job " + i);
        }
    }

    private static String stack(Thread th) {
        StringBuilder b = new StringBuilder();
        for (StackTraceElement e : th.getStackTrace()) {
            b.append("    at ").append(e).append('\n');
        }
        return b.toString();
    }

    private static int value(int index) {
        return 0x5a00_0000 | index;
    }

    @Test
    void fourThreadsTimesTwoHundredJobsCompleteExactlyOnce() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            run(t, false);
        }
    }

    @Test
    void smallQueuesAndTwoEventSlotsMakeSubmittersWaitButEverythingCompletes() throws Exception {
        // Four queues compete for two event slots (the slot allocator blocks on its CondVar) and each queue holds
        // three jobs at most (commit waits for room): back-pressure, not failure.
        AgxOptions options = AgxOptions.builder().queueSize(4).eventSlots(2)
                .submitTimeout(Duration.ofSeconds(30)).build();
        try (TestBed t = TestBed.threaded(options)) {
            run(t, true);
        }
    }
}
