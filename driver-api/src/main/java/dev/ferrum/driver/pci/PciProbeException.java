package dev.ferrum.driver.pci;

/** A driver's {@link PciDriver#probe probe} failed; the cause is what it threw. The device stays unbound. */
public final class PciProbeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PciProbeException(String message, Throwable cause) {
        super(message, cause);
    }
}
