package dev.ferrum.agx;

/**
 * The GPU firmware crashed or stopped responding. Every job pending at that moment fails with this exception, and so
 * does every later submission: the device is unusable until it is closed and opened again.
 *
 * <p>Invariants: {@link #crashCode()} is the firmware's code or {@link #DETECTED_BY_DRIVER}; a per-job copy
 * keeps the device-level message.
 */
public final class FirmwareCrashedException extends GpuException {
    private static final long serialVersionUID = 1L;

    /** {@link #crashCode()} when the driver, not the firmware, declared the crash (the firmware went silent). */
    public static final int DETECTED_BY_DRIVER = -1;

    private final int crashCode;

    FirmwareCrashedException(int crashCode, String message) {
        super(NO_JOB, message, null);
        this.crashCode = crashCode;
    }

    FirmwareCrashedException(long jobId, FirmwareCrashedException crash) {
        super(jobId, "job " + jobId + " failed: " + crash.getMessage(), null);
        this.crashCode = crash.crashCode;
    }

    /** {@return the firmware's crash code (its {@code CRASH_CODE} register), or {@link #DETECTED_BY_DRIVER}} */
    public int crashCode() {
        return crashCode;
    }
}
