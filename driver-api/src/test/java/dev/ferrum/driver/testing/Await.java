package dev.ferrum.driver.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.BooleanSupplier;

/** Bounded waits for conditions that tests cannot get a latch for (thread states, waiter queues). */
public final class Await {

    /** Generous: only a broken implementation (or a stuck machine) takes this long. */
    public static final long TIMEOUT_MILLIS = 20_000;

    private Await() {
    }

    /** Polls {@code condition} until it holds; fails the test after {@link #TIMEOUT_MILLIS}. */
    public static void until(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TIMEOUT_MILLIS * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out after " + TIMEOUT_MILLIS + " ms waiting for: " + what);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted while waiting for: " + what);
            }
        }
    }

    /** Waits until {@code t} is parked or waiting (blocked in a lock, a condition, a flush). */
    public static void parked(Thread t) {
        until(t.getName() + " to park", () -> {
            Thread.State s = t.getState();
            return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING || s == Thread.State.BLOCKED;
        });
    }

    /** Joins {@code t}, failing the test if it does not end within the timeout. */
    public static void joined(Thread t) {
        try {
            t.join(TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted while joining " + t.getName());
        }
        if (t.isAlive()) {
            fail(t.getName() + " did not finish within " + TIMEOUT_MILLIS + " ms");
        }
    }
}
