package dev.ferrum.nvme;

import dev.ferrum.nvme.internal.NvmeRegs;

/**
 * The {@code int} status an {@link IoCallback} receives. Zero is success; a positive value is the NVMe completion
 * status ({@code DNR << 15 | SCT << 8 | SC}); a negative value is an outcome decided by the driver.
 */
public final class IoStatus {
    private IoStatus() {}

    public static final int SUCCESS = 0;
    /** The command timed out and was aborted, or the controller was reset to recover from it. */
    public static final int TIMEOUT = -1;
    /** The command was outstanding during a controller reset and used up its retries. */
    public static final int ABORTED_BY_RESET = -2;
    /** The controller failed (fatal status, device gone) or was closed before the command completed. */
    public static final int CONTROLLER_FAILED = -3;
    /** The queue pair was closed or deleted before the command completed. */
    public static final int QUEUE_CLOSED = -4;
    /** Do Not Retry bit in a positive status. */
    public static final int DNR = 1 << 15;

    /** {@return the callback status for a CQE status field (phase bit excluded)} */
    static int fromCompletion(int statusField) {
        int sc = NvmeRegs.statusCode(statusField);
        int sct = NvmeRegs.statusCodeType(statusField);
        return sc == 0 && sct == 0 ? SUCCESS
                : (NvmeRegs.doNotRetry(statusField) ? DNR : 0) | sct << 8 | sc;
    }

    /** {@return whether {@code status} is success} */
    public static boolean isSuccess(int status) {
        return status == SUCCESS;
    }

    /** {@return the named NVMe status of a positive status, SUCCESS for 0, UNKNOWN for driver statuses} */
    public static NvmeStatus nvmeStatus(int status) {
        return status < 0 ? NvmeStatus.UNKNOWN : NvmeStatus.of((status >>> 8) & 0x7, status & 0xff);
    }

    /** {@return a readable description, e.g. {@code LBA Out of Range (SCT 0x0, SC 0x80)}} */
    public static String describe(int status) {
        return switch (status) {
            case SUCCESS -> "Successful Completion";
            case TIMEOUT -> "timed out";
            case ABORTED_BY_RESET -> "aborted by a controller reset";
            case CONTROLLER_FAILED -> "controller failed or closed";
            case QUEUE_CLOSED -> "queue pair closed";
            default -> {
                NvmeStatus s = nvmeStatus(status);
                yield (s == NvmeStatus.UNKNOWN ? "unknown status" : s.description())
                        + String.format(" (SCT 0x%x, SC 0x%02x%s)", (status >>> 8) & 0x7, status & 0xff,
                        (status & DNR) != 0 ? ", do not retry" : "");
            }
        };
    }

    /** {@return the exception for a failed {@code status} of {@code command}} */
    public static NvmeException toException(int status, String command) {
        return switch (status) {
            case TIMEOUT -> new NvmeTimeoutException(command + " timed out and was aborted");
            case ABORTED_BY_RESET -> new NvmeException(command + " was aborted by a controller reset (retries used up)");
            case CONTROLLER_FAILED -> new ControllerFailedException(command + " failed: the controller failed or was closed");
            case QUEUE_CLOSED -> new NvmeException(command + " failed: its queue pair was closed");
            default -> new NvmeCommandException(command, status);
        };
    }
}
