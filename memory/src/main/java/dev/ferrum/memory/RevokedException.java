package dev.ferrum.memory;

/**
 * A resource was used after it was revoked: an MMIO window of a device that was removed or unbound, or a
 * {@link Revocable} value after {@link Revocable#revoke()}. The message names the resource.
 *
 * <p>It is an {@link IllegalStateException}, like every access to a closed {@link java.lang.foreign.Arena}, so
 * code that handles "closed" generally also handles it.
 *
 * <p>Invariants: the message names the revoked resource; thrown only for a use after revocation, never for a
 * resource that is still valid. Immutable.
 */
public final class RevokedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public RevokedException(String message) {
        super(message);
    }

    public RevokedException(String message, Throwable cause) {
        super(message, cause);
    }
}
