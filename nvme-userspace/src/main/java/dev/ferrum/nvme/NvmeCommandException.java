package dev.ferrum.nvme;

/**
 * The controller completed a command with an error status. The message names the command and the decoded status,
 * e.g. {@code Read of 8 blocks at LBA 1000 on namespace 1 failed: LBA Out of Range (SCT 0x0, SC 0x80)}.
 */
public final class NvmeCommandException extends NvmeException {
    private static final long serialVersionUID = 1L;
    private final int statusField;

    NvmeCommandException(String command, int statusField) {
        super(command + " failed: " + IoStatus.describe(statusField));
        this.statusField = statusField;
    }

    /** {@return the decoded status} */
    public NvmeStatus status() {
        return IoStatus.nvmeStatus(statusField);
    }

    /** {@return the status code type} */
    public int sct() {
        return (statusField >>> 8) & 0x7;
    }

    /** {@return the status code} */
    public int sc() {
        return statusField & 0xff;
    }

    /** {@return whether the controller set Do Not Retry} */
    public boolean doNotRetry() {
        return (statusField & IoStatus.DNR) != 0;
    }
}
