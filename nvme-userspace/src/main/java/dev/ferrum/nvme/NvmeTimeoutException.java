package dev.ferrum.nvme;

/** A command did not complete within its timeout; it was aborted (or the controller reset). */
public final class NvmeTimeoutException extends NvmeException {
    private static final long serialVersionUID = 1L;

    NvmeTimeoutException(String message) {
        super(message);
    }
}
