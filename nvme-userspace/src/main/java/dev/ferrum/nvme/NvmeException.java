package dev.ferrum.nvme;

/**
 * Base of the NVMe driver's exceptions: a command failed, timed out or was aborted by a reset, or the controller
 * failed. Programming errors (an LBA out of range, a buffer too small, a closed queue pair) are reported before
 * anything is sent, as {@link IllegalArgumentException} or {@link IllegalStateException}.
 */
public class NvmeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NvmeException(String message) {
        super(message);
    }

    public NvmeException(String message, Throwable cause) {
        super(message, cause);
    }
}
