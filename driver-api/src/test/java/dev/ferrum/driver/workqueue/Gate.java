package dev.ferrum.driver.workqueue;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferrum.driver.testing.Await;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A work function that signals when it has started and then blocks until the test opens the gate. */
final class Gate implements Runnable {

    private final CountDownLatch started;
    private final CountDownLatch open = new CountDownLatch(1);

    Gate() {
        this(1);
    }

    /** @param starts how many executions {@link #awaitStarted()} waits for */
    Gate(int starts) {
        started = new CountDownLatch(starts);
    }

    @Override
    public void run() {
        started.countDown();
        try {
            assertTrue(open.await(Await.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS), "the test never opened the gate");
        } catch (InterruptedException e) {
            throw new AssertionError("interrupted at the gate", e);
        }
    }

    void awaitStarted() throws InterruptedException {
        assertTrue(started.await(Await.TIMEOUT_MILLIS, TimeUnit.MILLISECONDS), "the gated work never started");
    }

    void open() {
        open.countDown();
    }
}
