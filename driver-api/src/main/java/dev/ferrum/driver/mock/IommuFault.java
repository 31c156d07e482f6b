package dev.ferrum.driver.mock;

/**
 * A DMA access the mock IOMMU blocked.
 *
 * @param deviceAddress the IOVA the device tried to reach
 * @param length        the access length in bytes
 * @param write         whether the device tried to write (else read)
 * @param reason        why it was blocked, e.g. {@code "not mapped"}
 *
 * <p>Invariants: immutable, and a record of what happened, not a handle: it refers to no memory. The mock IOMMU
 * records one per blocked access, in the order they were blocked ({@link MockIommu#faults()}).
 */
public record IommuFault(long deviceAddress, long length, boolean write, String reason) {
    @Override
    public String toString() {
        return String.format("IOMMU fault: DMA %s of %d bytes at IOVA 0x%x: %s", write ? "write" : "read", length,
                deviceAddress, reason);
    }
}
