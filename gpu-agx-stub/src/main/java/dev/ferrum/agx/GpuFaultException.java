package dev.ferrum.agx;

/**
 * A job touched a GPU virtual address it may not: nothing is mapped there (a translation fault), the page is
 * read-only and the job wrote it (a permission fault), or the page table pointed at memory the IOMMU does not let
 * the device reach. The job stopped at the first such access; later jobs are unaffected.
 *
 * <p>Invariants: the address, access type and kind are what the firmware reported for the job; the
 * message names all three.
 */
public final class GpuFaultException extends GpuException {
    private static final long serialVersionUID = 1L;

    /** What kind of fault. */
    public enum Kind {
        /** No valid translation for the address. */
        UNMAPPED,
        /** A write to a read-only page. */
        PERMISSION,
        /** The translation's target is blocked by the IOMMU. */
        IOMMU
    }

    private final long address;
    private final boolean write;
    private final Kind kind;

    GpuFaultException(long jobId, long address, boolean write, Kind kind) {
        super(jobId, "job " + jobId + ": GPU page fault on " + (write ? "write to" : "read of") + " GPU VA 0x"
                + Long.toHexString(address) + " (" + describe(kind) + ")", null);
        this.address = address;
        this.write = write;
        this.kind = kind;
    }

    private static String describe(Kind kind) {
        return switch (kind) {
            case UNMAPPED -> "not mapped";
            case PERMISSION -> "page is read-only";
            case IOMMU -> "the IOMMU blocked the page's device address";
        };
    }

    /** {@return the GPU virtual address of the access that faulted} */
    public long faultAddress() {
        return address;
    }

    /** {@return whether the faulting access was a write} */
    public boolean isWrite() {
        return write;
    }

    /** {@return the kind of fault} */
    public Kind kind() {
        return kind;
    }
}
