package dev.ferrum.driver.pci;

/**
 * The PCI function was removed or its driver unbound: the operation cannot reach the device any more. Register
 * accesses through a revoked BAR throw {@link dev.ferrum.memory.RevokedException}; operations of
 * {@link PciDevice} itself throw this.
 */
public final class DeviceGoneException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public DeviceGoneException(String message) {
        super(message);
    }
}
