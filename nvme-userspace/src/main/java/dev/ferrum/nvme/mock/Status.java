package dev.ferrum.nvme.mock;

import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.internal.NvmeRegs;

/**
 * Completion status fields the mock controller posts: CQE DW3 bits 31:16 without the phase tag (bit 0), as
 * {@link NvmeRegs#status} encodes them. Errors caused by what the host put in a command carry Do Not Retry;
 * data transfer errors and aborts do not (a retry may succeed).
 */
final class Status {
    private Status() {}

    /** Returned by a command handler that completes later (an Asynchronous Event Request). */
    static final int NO_COMPLETION = -1;
    static final int SUCCESS = 0;

    static final int INVALID_OPCODE = of(NvmeStatus.INVALID_OPCODE, true);
    static final int INVALID_FIELD = of(NvmeStatus.INVALID_FIELD, true);
    static final int DATA_TRANSFER_ERROR = of(NvmeStatus.DATA_TRANSFER_ERROR, false);
    static final int INTERNAL_ERROR = of(NvmeStatus.INTERNAL_ERROR, false);
    static final int ABORT_REQUESTED = of(NvmeStatus.ABORT_REQUESTED, false);
    static final int ABORTED_SQ_DELETION = of(NvmeStatus.ABORTED_SQ_DELETION, false);
    static final int INVALID_NAMESPACE = of(NvmeStatus.INVALID_NAMESPACE, true);
    static final int COMMAND_SEQUENCE_ERROR = of(NvmeStatus.COMMAND_SEQUENCE_ERROR, true);
    static final int INVALID_PRP_OFFSET = of(NvmeStatus.INVALID_PRP_OFFSET, true);
    static final int LBA_OUT_OF_RANGE = of(NvmeStatus.LBA_OUT_OF_RANGE, true);
    static final int COMPLETION_QUEUE_INVALID = of(NvmeStatus.COMPLETION_QUEUE_INVALID, true);
    static final int INVALID_QUEUE_IDENTIFIER = of(NvmeStatus.INVALID_QUEUE_IDENTIFIER, true);
    static final int INVALID_QUEUE_SIZE = of(NvmeStatus.INVALID_QUEUE_SIZE, true);
    static final int ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED = of(NvmeStatus.ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED, true);
    static final int INVALID_INTERRUPT_VECTOR = of(NvmeStatus.INVALID_INTERRUPT_VECTOR, true);
    static final int INVALID_LOG_PAGE = of(NvmeStatus.INVALID_LOG_PAGE, true);
    static final int INVALID_QUEUE_DELETION = of(NvmeStatus.INVALID_QUEUE_DELETION, true);
    static final int FEATURE_NOT_SAVEABLE = of(NvmeStatus.FEATURE_NOT_SAVEABLE, true);

    static int of(NvmeStatus s, boolean dnr) {
        return NvmeRegs.status(s.sct(), s.sc(), dnr);
    }

    static int of(int sct, int sc, boolean dnr) {
        return NvmeRegs.status(sct, sc, dnr);
    }

    /** {@return whether a failed command with this status gets an Error Information log entry} */
    static boolean logged(int status) {
        int withoutDnr = status & 0x7ffe;
        return withoutDnr != 0 && withoutDnr != ABORT_REQUESTED && withoutDnr != ABORTED_SQ_DELETION;
    }

    /** {@return whether the status reports a media or data integrity error (SCT 2)} */
    static boolean mediaError(int status) {
        return NvmeRegs.statusCodeType(status) == 2;
    }
}
