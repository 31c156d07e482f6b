package dev.ferrum.driver.vfio;

import java.util.Objects;

/**
 * A VFIO operation failed for a reason the user can fix. The message says what is wrong (naming the device, file
 * or limit) and how to fix it (the exact commands or settings); {@link #reason()} classifies it for programs.
 *
 * <p>Invariants: the reason and message are never null; the cause, if any, is the system call failure behind it.
 */
public final class VfioException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Reason {
        /** {@code /dev/vfio/vfio} is missing (the vfio modules are not loaded) or unusable. */
        VFIO_UNAVAILABLE,
        /** No PCI function at the given address. */
        DEVICE_NOT_FOUND,
        /** The function is bound to another driver, or to none, instead of vfio-pci. */
        NOT_BOUND_TO_VFIO_PCI,
        /** The function has no IOMMU group: the IOMMU is off (kernel parameters) or absent. */
        NO_IOMMU_GROUP,
        /** The caller may not open a VFIO node or write a sysfs file. */
        PERMISSION_DENIED,
        /** The VFIO group is already open, by another process or another backend in this one. */
        GROUP_BUSY,
        /** Some device of the IOMMU group is bound to a driver that is not VFIO-compatible. */
        GROUP_NOT_VIABLE,
        /** The kernel lacks something Ferrum needs (API version, IOMMU type, reset support). */
        UNSUPPORTED,
        /** Locking ({@code mlock}) or pinning ({@code VFIO_IOMMU_MAP_DMA}) DMA memory exceeded {@code RLIMIT_MEMLOCK}. */
        MEMLOCK_LIMIT,
        /** The device is in use by the host (a mounted file system, swap, LVM/md) and must not be taken. */
        DEVICE_IN_USE,
        /** A request did not name one PCI function explicitly (e.g. "all"). */
        NOT_EXPLICITLY_NAMED,
        /** Binding or unbinding through sysfs did not have the expected effect, or a sysfs file could not be used. */
        SETUP_FAILED
    }

    private final Reason reason;

    /**
     * @param reason  the classification
     * @param message what is wrong and how to fix it
     */
    public VfioException(Reason reason, String message) {
        this(reason, message, null);
    }

    /**
     * @param reason  the classification
     * @param message what is wrong and how to fix it
     * @param cause   the failure behind it, or {@code null}
     */
    public VfioException(Reason reason, String message, Throwable cause) {
        super(Objects.requireNonNull(message, "message"), cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** {@return what went wrong} */
    public Reason reason() {
        return reason;
    }
}
