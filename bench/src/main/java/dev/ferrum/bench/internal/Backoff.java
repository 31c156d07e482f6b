package dev.ferrum.bench.internal;

/**
 * How the threaded NVMe benchmarks wait for their peer (driver for a completion, device for a doorbell): spin with
 * {@link Thread#onSpinWait()}, and once a wait has lasted {@value #SPIN_NANOS} ns, yield the CPU on every further
 * round. With a core per thread a wait never gets that far; on a machine with more runnable threads than cores the
 * peer may be descheduled, and spinning against it would only burn its time slice.
 *
 * <p>Invariants: one instance per waiting thread; no allocation.
 */
public final class Backoff {
    /** How long a wait spins before it starts yielding: {@value} ns. */
    public static final long SPIN_NANOS = 50_000;

    private int spins;
    private long since;

    /** Starts a new wait. */
    public void reset() {
        spins = 0;
        since = 0;
    }

    /** One idle round of the current wait. */
    public void idle() {
        if ((++spins & 63) == 0) {
            long now = System.nanoTime();
            if (since == 0) {
                since = now;
            } else if (now - since > SPIN_NANOS) {
                Thread.yield();
                return;
            }
        }
        Thread.onSpinWait();
    }
}
