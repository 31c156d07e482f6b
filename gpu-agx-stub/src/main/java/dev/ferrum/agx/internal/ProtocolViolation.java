package dev.ferrum.agx.internal;

/**
 * The firmware wrote something into shared memory that breaks the protocol (a ring pointer out of range, a stamp
 * beyond what was submitted). The driver never uses such a value as an index; it fails the device instead
 * (ARCHITECTURE rule 6: a misbehaving device fails its controller, never the JVM).
 *
 * <p>Invariants: the message names the value read and the range it should have been in.
 */
public final class ProtocolViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ProtocolViolation(String message) {
        super(message);
    }
}
