package dev.ferrum.driver.mock;

/** Thrown to a device model whose DMA access the mock IOMMU blocked; the fault is also recorded. */
public final class IommuFaultException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient IommuFault fault;

    public IommuFaultException(IommuFault fault) {
        super(fault.toString());
        this.fault = fault;
    }

    /** {@return the recorded fault} */
    public IommuFault fault() {
        return fault;
    }
}
