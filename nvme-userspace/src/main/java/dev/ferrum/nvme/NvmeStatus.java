package dev.ferrum.nvme;

/**
 * Named NVMe completion status codes (NVM Express Base Specification 1.4, figures 126-130 and the NVM command set
 * figures): status code type (SCT) and status code (SC). {@link #of(int, int)} never fails: codes without a name
 * here decode to {@link #UNKNOWN}, and the numbers are kept by whoever reports them.
 */
public enum NvmeStatus {
    SUCCESS(0, 0x00, "Successful Completion"),
    INVALID_OPCODE(0, 0x01, "Invalid Command Opcode"),
    INVALID_FIELD(0, 0x02, "Invalid Field in Command"),
    COMMAND_ID_CONFLICT(0, 0x03, "Command ID Conflict"),
    DATA_TRANSFER_ERROR(0, 0x04, "Data Transfer Error"),
    POWER_LOSS_ABORT(0, 0x05, "Commands Aborted due to Power Loss Notification"),
    INTERNAL_ERROR(0, 0x06, "Internal Error"),
    ABORT_REQUESTED(0, 0x07, "Command Abort Requested"),
    ABORTED_SQ_DELETION(0, 0x08, "Command Aborted due to SQ Deletion"),
    ABORTED_FAILED_FUSED(0, 0x09, "Command Aborted due to Failed Fused Command"),
    ABORTED_MISSING_FUSED(0, 0x0a, "Command Aborted due to Missing Fused Command"),
    INVALID_NAMESPACE(0, 0x0b, "Invalid Namespace or Format"),
    COMMAND_SEQUENCE_ERROR(0, 0x0c, "Command Sequence Error"),
    INVALID_SGL_DESCRIPTOR(0, 0x0d, "Invalid SGL Segment Descriptor"),
    INVALID_SGL_COUNT(0, 0x0e, "Invalid Number of SGL Descriptors"),
    DATA_SGL_LENGTH_INVALID(0, 0x0f, "Data SGL Length Invalid"),
    INVALID_USE_OF_CMB(0, 0x12, "Invalid Use of Controller Memory Buffer"),
    INVALID_PRP_OFFSET(0, 0x13, "PRP Offset Invalid"),
    OPERATION_DENIED(0, 0x15, "Operation Denied"),
    HOST_ID_INCONSISTENT(0, 0x18, "Host Identifier Inconsistent Format"),
    NAMESPACE_WRITE_PROTECTED(0, 0x20, "Namespace is Write Protected"),
    COMMAND_INTERRUPTED(0, 0x21, "Command Interrupted"),
    LBA_OUT_OF_RANGE(0, 0x80, "LBA Out of Range"),
    CAPACITY_EXCEEDED(0, 0x81, "Capacity Exceeded"),
    NAMESPACE_NOT_READY(0, 0x82, "Namespace Not Ready"),
    RESERVATION_CONFLICT(0, 0x83, "Reservation Conflict"),

    COMPLETION_QUEUE_INVALID(1, 0x00, "Completion Queue Invalid"),
    INVALID_QUEUE_IDENTIFIER(1, 0x01, "Invalid Queue Identifier"),
    INVALID_QUEUE_SIZE(1, 0x02, "Invalid Queue Size"),
    ABORT_COMMAND_LIMIT_EXCEEDED(1, 0x03, "Abort Command Limit Exceeded"),
    ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED(1, 0x05, "Asynchronous Event Request Limit Exceeded"),
    INVALID_FIRMWARE_SLOT(1, 0x06, "Invalid Firmware Slot"),
    INVALID_FIRMWARE_IMAGE(1, 0x07, "Invalid Firmware Image"),
    INVALID_INTERRUPT_VECTOR(1, 0x08, "Invalid Interrupt Vector"),
    INVALID_LOG_PAGE(1, 0x09, "Invalid Log Page"),
    INVALID_FORMAT(1, 0x0a, "Invalid Format"),
    INVALID_QUEUE_DELETION(1, 0x0c, "Invalid Queue Deletion"),
    FEATURE_NOT_SAVEABLE(1, 0x0d, "Feature Identifier Not Saveable"),
    FEATURE_NOT_CHANGEABLE(1, 0x0e, "Feature Not Changeable"),
    FEATURE_NOT_NAMESPACE_SPECIFIC(1, 0x0f, "Feature Not Namespace Specific"),
    CONFLICTING_ATTRIBUTES(1, 0x80, "Conflicting Attributes"),
    INVALID_PROTECTION_INFORMATION(1, 0x81, "Invalid Protection Information"),
    WRITE_TO_READ_ONLY_RANGE(1, 0x82, "Attempted Write to Read Only Range"),

    WRITE_FAULT(2, 0x80, "Write Fault"),
    UNRECOVERED_READ_ERROR(2, 0x81, "Unrecovered Read Error"),
    END_TO_END_GUARD_CHECK_ERROR(2, 0x82, "End-to-end Guard Check Error"),
    END_TO_END_APPLICATION_TAG_CHECK_ERROR(2, 0x83, "End-to-end Application Tag Check Error"),
    END_TO_END_REFERENCE_TAG_CHECK_ERROR(2, 0x84, "End-to-end Reference Tag Check Error"),
    COMPARE_FAILURE(2, 0x85, "Compare Failure"),
    ACCESS_DENIED(2, 0x86, "Access Denied"),
    DEALLOCATED_OR_UNWRITTEN_BLOCK(2, 0x87, "Deallocated or Unwritten Logical Block"),

    /** A code this table does not name (including vendor-specific ones). */
    UNKNOWN(-1, -1, "Unknown status");

    private static final NvmeStatus[][] BY_CODE = new NvmeStatus[8][256];

    static {
        for (NvmeStatus s : values()) {
            if (s.sct >= 0) {
                BY_CODE[s.sct][s.sc] = s;
            }
        }
    }

    private final int sct;
    private final int sc;
    private final String description;

    NvmeStatus(int sct, int sc, String description) {
        this.sct = sct;
        this.sc = sc;
        this.description = description;
    }

    /** {@return the status named by status code type {@code sct} and status code {@code sc}, or UNKNOWN} */
    public static NvmeStatus of(int sct, int sc) {
        if (sct < 0 || sct > 7 || sc < 0 || sc > 255) {
            return UNKNOWN;
        }
        NvmeStatus s = BY_CODE[sct][sc];
        return s == null ? UNKNOWN : s;
    }

    /** {@return the status code type, or -1 for UNKNOWN} */
    public int sct() {
        return sct;
    }

    /** {@return the status code, or -1 for UNKNOWN} */
    public int sc() {
        return sc;
    }

    /** {@return the spec's name for the status} */
    public String description() {
        return description;
    }
}
