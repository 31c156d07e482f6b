package dev.ferrum.agx;

/**
 * A job that holds everything it needs to run (buffers pinned, firmware command built, event slot, ring room) but
 * has not been handed to the firmware. {@link #run()} submits it; {@link #close()} before that rolls it back: the
 * ring reservation, the command object, the buffer pins, and the queue's event slot if nothing else needs it are all
 * returned (Asahi: dropping a {@code Job} that was committed but not submitted).
 *
 * <p>Invariants: runs at most once; after {@code run()} or {@code close()} it holds nothing. Use it on one thread.
 */
public final class PreparedJob implements AutoCloseable {
    private final AgxDevice device;
    private final Job job;
    private boolean done;

    PreparedJob(AgxDevice device, Job job) {
        this.device = device;
        this.job = job;
    }

    /** {@return the job's ID} */
    public long jobId() {
        return job.id;
    }

    /**
     * Hands the job to the firmware.
     *
     * @return the job's fence
     * @throws IllegalStateException    if it already ran or was closed
     * @throws FirmwareCrashedException if the firmware crashed since the job was prepared (the job is rolled back)
     * @throws GpuException             if the device could not take it (the job is rolled back)
     */
    public Fence run() {
        if (done) {
            throw new IllegalStateException("job " + job.id + " already ran or was dropped");
        }
        done = true;
        return device.run(job);
    }

    /** Drops the job if it has not run, giving back everything it reserved. Idempotent. */
    @Override
    public void close() {
        if (!done) {
            done = true;
            device.drop(job);
        }
    }

    Job job() {
        return job;
    }

    @Override
    public String toString() {
        return "PreparedJob[" + job.id + (done ? ", done]" : "]");
    }
}
