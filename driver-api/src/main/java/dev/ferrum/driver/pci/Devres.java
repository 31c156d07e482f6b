package dev.ferrum.driver.pci;

import dev.ferrum.memory.Revocable;

import java.util.Optional;
import java.util.function.Consumer;

/**
 * A device resource: a value that lives while its driver is bound, revoked when the driver is unbound or the device
 * is removed, as the kernel's {@code Devres<T>}. Revocation waits for accesses in progress, then releases the value
 * (for a {@link Bar}: unmaps it).
 *
 * <p>Invariants: after revocation {@link #tryAccess()} is empty and {@link #get()} throws
 * {@link DeviceGoneException}; the release action runs exactly once.
 *
 * @param <T> the resource
 */
public final class Devres<T> {
    private final Revocable<T> revocable;
    private final String name;

    Devres(T value, String name, Consumer<? super T> release) {
        this.revocable = new Revocable<>(value, name, release);
        this.name = name;
    }

    /** {@return access to the resource, or empty if revoked} Close the access promptly. */
    public Optional<Revocable.Access<T>> tryAccess() {
        return revocable.tryAccess();
    }

    /**
     * {@return the resource, if it has not been revoked}
     * Use this for resources that protect themselves after revocation ({@link Bar}: its window throws once
     * revoked); otherwise use {@link #tryAccess()} so revocation waits for the use to end.
     *
     * @throws DeviceGoneException if revoked
     */
    public T get() {
        Optional<Revocable.Access<T>> a = revocable.tryAccess();
        if (a.isEmpty()) {
            throw new DeviceGoneException(name + " was revoked: the device was removed or its driver unbound");
        }
        try (Revocable.Access<T> access = a.get()) {
            return access.get();
        }
    }

    /** {@return whether the resource was revoked} */
    public boolean isRevoked() {
        return revocable.isRevoked();
    }

    void revoke() {
        revocable.revoke();
    }

    @Override
    public String toString() {
        return "Devres[" + name + (isRevoked() ? ", revoked]" : "]");
    }
}
