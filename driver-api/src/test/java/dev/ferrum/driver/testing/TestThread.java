package dev.ferrum.driver.testing;

import java.util.concurrent.atomic.AtomicReference;

/** A thread running test code whose failure (assertion or exception) is rethrown by {@link #join()}. */
public final class TestThread {

    /** Test code that may throw anything. */
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    private final Thread thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    private TestThread(Thread.Builder builder, Body body) {
        this.thread = builder.unstarted(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
    }

    /** Starts {@code body} on a new platform thread named {@code name}. */
    public static TestThread start(String name, Body body) {
        TestThread t = new TestThread(Thread.ofPlatform().name(name).daemon(true), body);
        t.thread.start();
        return t;
    }

    /** Starts {@code body} on a new virtual thread named {@code name}. */
    public static TestThread startVirtual(String name, Body body) {
        TestThread t = new TestThread(Thread.ofVirtual().name(name), body);
        t.thread.start();
        return t;
    }

    public Thread thread() {
        return thread;
    }

    /** Waits (bounded) for the body to finish and rethrows what it threw. */
    public void join() {
        Await.joined(thread);
        Throwable t = failure.get();
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new AssertionError(thread.getName() + " failed", t);
        }
    }

    /** Waits (bounded) for the body to finish and returns what it threw (null if nothing). */
    public Throwable joinFailure() {
        Await.joined(thread);
        return failure.get();
    }
}
