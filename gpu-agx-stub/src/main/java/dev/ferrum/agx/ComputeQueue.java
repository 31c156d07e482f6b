package dev.ferrum.agx;

import dev.ferrum.driver.sync.Arc;

/**
 * A queue of compute jobs (Asahi {@code queue/mod.rs} and {@code queue/compute.rs}: the per-client queue whose jobs
 * become firmware work-queue commands). Jobs of one queue run in submission order; separate queues run
 * concurrently. Any thread may submit.
 *
 * <p>Closing the queue refuses further jobs; jobs already submitted still complete, and the queue's memory is freed
 * when the last of them has (the queue is reference-counted with {@link Arc}).
 *
 * <p>Invariants: a job submitted here completes exactly once, through its {@link Fence}.
 */
public final class ComputeQueue implements AutoCloseable {
    private final AgxDevice device;
    private final Arc<GpuWorkQueue> handle;
    private boolean closed;

    ComputeQueue(AgxDevice device, Arc<GpuWorkQueue> handle) {
        this.device = device;
        this.handle = handle;
    }

    /** {@return the queue's ID} */
    public int id() {
        return handle.get().id;
    }

    /**
     * Submits {@code job}: prepares it and runs it at once.
     *
     * @return the job's fence
     * @throws IllegalArgumentException if the job uses a buffer of another device
     * @throws IllegalStateException    if the queue or device is closed, or a buffer the job uses is closed
     * @throws FirmwareCrashedException if the firmware crashed
     * @throws GpuException             if there was no room in the queue or no event slot within the submit timeout
     */
    public Fence submit(ComputeJob job) {
        try (PreparedJob p = prepare(job)) {
            return p.run();
        }
    }

    /**
     * Prepares {@code job} without running it: pins its buffers, takes an event slot for the queue if it has none,
     * builds the firmware command and reserves room in the ring (Asahi: job creation and {@code Job::commit}).
     * {@link PreparedJob#run()} then submits it; closing it un-run gives everything back.
     *
     * @throws IllegalStateException as for {@link #submit}
     * @throws GpuException          as for {@link #submit}
     */
    public PreparedJob prepare(ComputeJob job) {
        Arc<GpuWorkQueue> h;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(this + " is closed");
            }
            h = handle.clone();
        }
        try {
            return device.prepare(h, job);
        } finally {
            h.close();
        }
    }

    /** {@return the number of this queue's jobs in flight on the GPU} */
    public int inFlight() {
        return handle.get().pendingCount();
    }

    /** Refuses further jobs; jobs in flight still complete. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        handle.close();
    }

    GpuWorkQueue queue() {
        return handle.get();
    }

    @Override
    public String toString() {
        return "ComputeQueue[" + handle.get().id + " of " + device.address() + "]";
    }
}
