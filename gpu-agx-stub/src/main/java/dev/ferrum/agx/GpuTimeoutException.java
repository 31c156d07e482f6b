package dev.ferrum.agx;

import java.time.Duration;

/**
 * A job ran longer than its timeout ({@link ComputeJob#withTimeout}) and the firmware killed it. The GPU goes on
 * with the following jobs. (A {@link Fence#await(Duration) wait} that merely ends before the job does returns
 * {@code false} instead.)
 *
 * <p>Invariants: {@link #timeout()} is the timeout the job was submitted with.
 */
public final class GpuTimeoutException extends GpuException {
    private static final long serialVersionUID = 1L;

    private final Duration timeout;

    GpuTimeoutException(long jobId, Duration timeout) {
        super(jobId, "job " + jobId + " timed out on the GPU: it ran longer than its timeout of " + timeout.toMillis()
                + " ms and the firmware killed it", null);
        this.timeout = timeout;
    }

    /** {@return the job's timeout} */
    public Duration timeout() {
        return timeout;
    }
}
