package dev.ferrum.example.checksum;

/**
 * A checksum job failed on the device: it completed with an error code, or the device halted or did not stop.
 * Futures returned by {@link ChecksumEngine#crc32c} complete exceptionally with it.
 *
 * <p>Invariants: {@link #code()} is the descriptor's status code, or -1 when the device gave none.
 */
public final class ChecksumException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int code;

    /**
     * @param message what went wrong, naming the device
     * @param code    the descriptor's status code, or -1
     */
    public ChecksumException(String message, int code) {
        super(message);
        this.code = code;
    }

    /** {@return the descriptor's status code (3 for an IOMMU-blocked read), or -1 when the device gave none} */
    public int code() {
        return code;
    }
}
