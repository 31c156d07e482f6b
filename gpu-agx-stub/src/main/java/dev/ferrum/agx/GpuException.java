package dev.ferrum.agx;

/**
 * Base of the AGX driver's exceptions: a job failed on the GPU ({@link GpuFaultException},
 * {@link GpuTimeoutException}), the firmware crashed or stopped responding ({@link FirmwareCrashedException}), or
 * the device could not do what was asked (closed, queue full, firmware rejected a command). Programming errors (an
 * offset outside a buffer, a closed buffer) are reported before anything reaches the GPU, as
 * {@link IllegalArgumentException} or {@link IllegalStateException}.
 *
 * <p>Invariants: {@link #jobId()} is fixed at construction: the failed job, or {@link #NO_JOB}.
 */
public class GpuException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** No job: the exception concerns the device. */
    public static final long NO_JOB = -1;

    private final long jobId;

    public GpuException(String message) {
        this(NO_JOB, message, null);
    }

    public GpuException(String message, Throwable cause) {
        this(NO_JOB, message, cause);
    }

    GpuException(long jobId, String message, Throwable cause) {
        super(message, cause);
        this.jobId = jobId;
    }

    /** {@return the ID of the job that failed, or {@link #NO_JOB}} */
    public long jobId() {
        return jobId;
    }
}
