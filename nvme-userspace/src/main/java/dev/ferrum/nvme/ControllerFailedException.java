package dev.ferrum.nvme;

/**
 * The controller cannot process commands: bring-up failed, it reported a fatal status ({@code CSTS.CFS}) and could
 * not be reset, the device is gone, or it was closed. Commands outstanding at that point fail with this.
 */
public final class ControllerFailedException extends NvmeException {
    private static final long serialVersionUID = 1L;

    public ControllerFailedException(String message) {
        super(message);
    }

    public ControllerFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
