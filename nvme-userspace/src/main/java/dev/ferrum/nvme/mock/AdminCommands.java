package dev.ferrum.nvme.mock;

import dev.ferrum.sys.nvme.Nvme;
import dev.ferrum.sys.nvme.nvme_smart_log;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.ferrum.nvme.mock.Layout.U16_UNALIGNED;
import static dev.ferrum.nvme.mock.Layout.U32;
import static dev.ferrum.nvme.mock.Layout.U64_UNALIGNED;
import static dev.ferrum.nvme.mock.Layout.U8;

/**
 * The admin command set (NVMe 1.4 section 5): queue management, Identify, Get Log Page, Set/Get Features, Abort and
 * Asynchronous Event Request. Holds the feature values, which return to their defaults on controller reset.
 *
 * <p>Invariants: every field the host gave is range-checked before it is used as an index or size; a command that
 * fails validation changes nothing. Controller thread only.
 */
final class AdminCommands {
    static final int DELETE_SQ = Nvme.NVME_ADMIN_DELETE_SQ();
    static final int CREATE_SQ = Nvme.NVME_ADMIN_CREATE_SQ();
    static final int GET_LOG_PAGE = Nvme.NVME_ADMIN_GET_LOG_PAGE();
    static final int DELETE_CQ = Nvme.NVME_ADMIN_DELETE_CQ();
    static final int CREATE_CQ = Nvme.NVME_ADMIN_CREATE_CQ();
    static final int IDENTIFY = Nvme.NVME_ADMIN_IDENTIFY();
    static final int ABORT = Nvme.NVME_ADMIN_ABORT();
    static final int SET_FEATURES = Nvme.NVME_ADMIN_SET_FEATURES();
    static final int GET_FEATURES = Nvme.NVME_ADMIN_GET_FEATURES();
    static final int ASYNC_EVENT = Nvme.NVME_ADMIN_ASYNC_EVENT();

    static final int LOG_ERROR = Nvme.NVME_LOG_ERROR();
    static final int LOG_SMART = Nvme.NVME_LOG_SMART();
    static final int LOG_FW_SLOT = Nvme.NVME_LOG_FW_SLOT();
    private static final int SMART_LOG_SIZE = (int) nvme_smart_log.sizeof();
    private static final int FW_LOG_SIZE = 512;
    /** Composite temperature the SMART log reports: 300 K (27 °C). */
    static final int TEMPERATURE = 300;

    private static final int FEAT_ARBITRATION = Nvme.NVME_FEAT_ARBITRATION();
    private static final int FEAT_POWER_MGMT = Nvme.NVME_FEAT_POWER_MGMT();
    private static final int FEAT_TEMP_THRESH = Nvme.NVME_FEAT_TEMP_THRESH();
    private static final int FEAT_ERR_RECOVERY = Nvme.NVME_FEAT_ERR_RECOVERY();
    private static final int FEAT_VOLATILE_WC = Nvme.NVME_FEAT_VOLATILE_WC();
    private static final int FEAT_NUM_QUEUES = Nvme.NVME_FEAT_NUM_QUEUES();
    private static final int FEAT_IRQ_COALESCE = Nvme.NVME_FEAT_IRQ_COALESCE();
    private static final int FEAT_IRQ_CONFIG = Nvme.NVME_FEAT_IRQ_CONFIG();
    private static final int FEAT_ASYNC_EVENT = Nvme.NVME_FEAT_ASYNC_EVENT();

    private final MockNvmeController ctrl;
    private final MemorySegment idController;
    private final MemorySegment page;

    int grantedSubmissionQueues;
    int grantedCompletionQueues;
    private int arbitration;
    private int powerManagement;
    private int overTemperature;
    private int underTemperature;
    private int errorRecovery;
    private boolean writeCache;
    private int interruptCoalescing;
    private boolean[] coalescingDisabled;
    private int asyncEventConfig;

    AdminCommands(MockNvmeController ctrl, MemorySegment idController) {
        this.ctrl = ctrl;
        this.idController = idController;
        long logBytes = Math.max(IdentifyData.SIZE, (long) ctrl.config.errorLogEntries() * ErrorLog.ENTRY);
        this.page = Arena.ofAuto().allocate(logBytes, 8);
        resetFeatures();
    }

    /** Feature values at power-on and after a controller reset. */
    void resetFeatures() {
        grantedSubmissionQueues = ctrl.config.maxIoQueuePairs();
        grantedCompletionQueues = ctrl.config.maxIoQueuePairs();
        arbitration = 0;
        powerManagement = 0;
        overTemperature = IdentifyData.WCTEMP;
        underTemperature = 0;
        errorRecovery = 0;
        writeCache = ctrl.config.volatileWriteCache();
        interruptCoalescing = 0;
        coalescingDisabled = new boolean[ctrl.config.msixVectors()];
        asyncEventConfig = 0;
    }

    /** {@return whether a volatile write cache is present and enabled} */
    boolean writeCacheEnabled() {
        return writeCache;
    }

    /** Executes {@code c}; {@return its status, or {@link Status#NO_COMPLETION}} */
    int execute(Command c) {
        if ((c.flags & 0xc3) != 0) {
            return Status.INVALID_FIELD; // fused operations and SGLs (PSDT) are not supported
        }
        int op = c.opcode;
        if (op == IDENTIFY) {
            return identify(c);
        } else if (op == CREATE_CQ) {
            return createCq(c);
        } else if (op == CREATE_SQ) {
            return createSq(c);
        } else if (op == DELETE_SQ) {
            return ctrl.deleteSq(c.cdw10 & 0xffff);
        } else if (op == DELETE_CQ) {
            return ctrl.deleteCq(c.cdw10 & 0xffff);
        } else if (op == SET_FEATURES) {
            return setFeatures(c);
        } else if (op == GET_FEATURES) {
            return getFeatures(c);
        } else if (op == GET_LOG_PAGE) {
            return getLogPage(c);
        } else if (op == ABORT) {
            c.result = ctrl.abort(c.cdw10 & 0xffff, c.cdw10 >>> 16) ? 0 : 1;
            return Status.SUCCESS;
        } else if (op == ASYNC_EVENT) {
            return ctrl.events.addRequest(c.cid) ? Status.NO_COMPLETION : Status.ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED;
        }
        return Status.INVALID_OPCODE;
    }

    private int toHost(Command c, MemorySegment data, long available, long length) {
        return ctrl.prp.bufferToHost(ctrl.engine(), data, available, c.prp1, c.prp2, length, ctrl.pageSize);
    }

    // ---- Identify ----

    private int identify(Command c) {
        int cns = c.cdw10 & 0xff;
        if (cns == Nvme.NVME_ID_CNS_CTRL()) {
            return toHost(c, idController, IdentifyData.SIZE, IdentifyData.SIZE);
        }
        if (cns == Nvme.NVME_ID_CNS_NS()) {
            NamespaceState ns = ctrl.namespace(c.nsid);
            return ns == null ? Status.INVALID_NAMESPACE : toHost(c, ns.identify, IdentifyData.SIZE, IdentifyData.SIZE);
        }
        if (cns == Nvme.NVME_ID_CNS_NS_ACTIVE()) {
            if (c.nsid == 0xffffffff || c.nsid == 0xfffffffe) {
                return Status.INVALID_NAMESPACE;
            }
            MemorySegment list = page.asSlice(0, IdentifyData.SIZE);
            list.fill((byte) 0);
            int n = 0;
            for (int id = 1; id <= ctrl.namespaceCount() && n < IdentifyData.SIZE / 4; id++) {
                if (Integer.compareUnsigned(id, c.nsid) > 0) {
                    U32.set(list, 4L * n++, id);
                }
            }
            return toHost(c, list, IdentifyData.SIZE, IdentifyData.SIZE);
        }
        return Status.INVALID_FIELD;
    }

    // ---- Queue creation (deletion is the controller's: it owns the held commands) ----

    private int createCq(Command c) {
        int qid = c.cdw10 & 0xffff;
        int entries = (c.cdw10 >>> 16) + 1;
        boolean contiguous = (c.cdw11 & 1) != 0;
        boolean interrupts = (c.cdw11 & 2) != 0;
        int vector = c.cdw11 >>> 16;
        if (qid == 0 || qid > grantedCompletionQueues || ctrl.completionQueue(qid) != null) {
            return Status.INVALID_QUEUE_IDENTIFIER;
        }
        if (entries < 2 || entries > ctrl.config.mqes() + 1) {
            return Status.INVALID_QUEUE_SIZE;
        }
        if (!contiguous) {
            return Status.INVALID_FIELD; // CAP.CQR = 1
        }
        if (interrupts && vector >= ctrl.config.msixVectors()) {
            return Status.INVALID_INTERRUPT_VECTOR;
        }
        if (c.prp1 == 0 || (c.prp1 & (ctrl.pageSize - 1)) != 0) {
            return Status.INVALID_PRP_OFFSET;
        }
        return ctrl.createCq(qid, entries, c.prp1, interrupts, vector);
    }

    private int createSq(Command c) {
        int qid = c.cdw10 & 0xffff;
        int entries = (c.cdw10 >>> 16) + 1;
        boolean contiguous = (c.cdw11 & 1) != 0;
        int cqid = c.cdw11 >>> 16;
        if (qid == 0 || qid > grantedSubmissionQueues || ctrl.submissionQueue(qid) != null) {
            return Status.INVALID_QUEUE_IDENTIFIER;
        }
        if (cqid == 0 || ctrl.completionQueue(cqid) == null) {
            return Status.COMPLETION_QUEUE_INVALID;
        }
        if (entries < 2 || entries > ctrl.config.mqes() + 1) {
            return Status.INVALID_QUEUE_SIZE;
        }
        if (!contiguous) {
            return Status.INVALID_FIELD;
        }
        if (c.prp1 == 0 || (c.prp1 & (ctrl.pageSize - 1)) != 0) {
            return Status.INVALID_PRP_OFFSET;
        }
        return ctrl.createSq(qid, entries, c.prp1, cqid);
    }

    // ---- Features ----

    private int setFeatures(Command c) {
        int fid = c.cdw10 & 0xff;
        if ((c.cdw10 & 0x8000_0000) != 0) {
            return Status.FEATURE_NOT_SAVEABLE;
        }
        int v = c.cdw11;
        if (fid == FEAT_NUM_QUEUES) {
            int nsqr = v & 0xffff;
            int ncqr = v >>> 16;
            if (nsqr == 0xffff || ncqr == 0xffff) {
                return Status.INVALID_FIELD;
            }
            if (ctrl.ioQueuesExist()) {
                return Status.COMMAND_SEQUENCE_ERROR;
            }
            int max = ctrl.config.maxIoQueuePairs();
            grantedSubmissionQueues = Math.min(nsqr + 1, max);
            grantedCompletionQueues = Math.min(ncqr + 1, max);
            c.result = numberOfQueues();
        } else if (fid == FEAT_VOLATILE_WC) {
            if (!ctrl.config.volatileWriteCache()) {
                return Status.INVALID_FIELD;
            }
            writeCache = (v & 1) != 0;
        } else if (fid == FEAT_ARBITRATION) {
            arbitration = v;
        } else if (fid == FEAT_POWER_MGMT) {
            if ((v & 0x1f) != 0) {
                return Status.INVALID_FIELD; // power state 0 is the only one (NPSS = 0)
            }
            powerManagement = v;
        } else if (fid == FEAT_TEMP_THRESH) {
            int sel = (v >>> 16) & 0xf;
            int kind = (v >>> 20) & 0x3;
            if (sel != 0 || kind > 1) {
                return Status.INVALID_FIELD; // composite temperature only; over or under threshold
            }
            if (kind == 0) {
                overTemperature = v & 0xffff;
            } else {
                underTemperature = v & 0xffff;
            }
        } else if (fid == FEAT_ERR_RECOVERY) {
            errorRecovery = v;
        } else if (fid == FEAT_IRQ_COALESCE) {
            interruptCoalescing = v & 0xffff;
        } else if (fid == FEAT_IRQ_CONFIG) {
            int iv = v & 0xffff;
            if (iv >= coalescingDisabled.length) {
                return Status.INVALID_FIELD;
            }
            coalescingDisabled[iv] = (v & 0x1_0000) != 0;
        } else if (fid == FEAT_ASYNC_EVENT) {
            asyncEventConfig = v;
        } else {
            return Status.INVALID_FIELD;
        }
        return Status.SUCCESS;
    }

    private int numberOfQueues() {
        return (grantedSubmissionQueues - 1) | (grantedCompletionQueues - 1) << 16;
    }

    private int getFeatures(Command c) {
        int fid = c.cdw10 & 0xff;
        int sel = (c.cdw10 >>> 8) & 0x7;
        if (sel > 3) {
            return Status.INVALID_FIELD;
        }
        boolean current = sel == 0;
        int v;
        if (fid == FEAT_NUM_QUEUES) {
            int max = ctrl.config.maxIoQueuePairs() - 1;
            v = current ? numberOfQueues() : max | max << 16;
        } else if (fid == FEAT_VOLATILE_WC) {
            if (!ctrl.config.volatileWriteCache()) {
                return Status.INVALID_FIELD;
            }
            v = current ? (writeCache ? 1 : 0) : 1;
        } else if (fid == FEAT_ARBITRATION) {
            v = current ? arbitration : 0;
        } else if (fid == FEAT_POWER_MGMT) {
            v = current ? powerManagement : 0;
        } else if (fid == FEAT_TEMP_THRESH) {
            int sel2 = (c.cdw11 >>> 16) & 0xf;
            int kind = (c.cdw11 >>> 20) & 0x3;
            if (sel2 != 0 || kind > 1) {
                return Status.INVALID_FIELD;
            }
            int t = kind == 0 ? (current ? overTemperature : IdentifyData.WCTEMP) : (current ? underTemperature : 0);
            v = t | kind << 20;
        } else if (fid == FEAT_ERR_RECOVERY) {
            v = current ? errorRecovery : 0;
        } else if (fid == FEAT_IRQ_COALESCE) {
            v = current ? interruptCoalescing : 0;
        } else if (fid == FEAT_IRQ_CONFIG) {
            int iv = c.cdw11 & 0xffff;
            if (iv >= coalescingDisabled.length) {
                return Status.INVALID_FIELD;
            }
            v = iv | (current && coalescingDisabled[iv] ? 0x1_0000 : 0);
        } else if (fid == FEAT_ASYNC_EVENT) {
            v = current ? asyncEventConfig : 0;
        } else {
            return Status.INVALID_FIELD;
        }
        // SEL = 3 (supported capabilities): changeable (bit 2), not saveable, not namespace specific.
        c.result = sel == 3 ? 0x4 : v;
        return Status.SUCCESS;
    }

    // ---- Log pages ----

    private int getLogPage(Command c) {
        int lid = c.cdw10 & 0xff;
        boolean retainEvent = (c.cdw10 & 0x8000) != 0;
        long dwords = ((c.cdw10 >>> 16) | (long) (c.cdw11 & 0xffff) << 16) + 1;
        long length = dwords * 4;
        long offset = (c.cdw12 & 0xffffffffL) | (long) c.cdw13 << 32;
        long max = ctrl.maxTransferBytes();
        if ((offset & 3) != 0 || (max != 0 && length > max)) {
            return Status.INVALID_FIELD;
        }
        long size;
        if (lid == LOG_ERROR) {
            size = ctrl.errorLog.pageSize();
            ctrl.errorLog.render(page);
        } else if (lid == LOG_SMART) {
            size = SMART_LOG_SIZE;
            renderSmart();
        } else if (lid == LOG_FW_SLOT) {
            size = FW_LOG_SIZE;
            page.asSlice(0, size).fill((byte) 0);
            U8.set(page, 0L, (byte) 0x01); // AFI: slot 1 active
            IdentifyData.ascii(page, 8, 8, ctrl.config.firmware()); // FRS1
        } else {
            return Status.INVALID_LOG_PAGE;
        }
        if (offset >= size) {
            return Status.INVALID_FIELD;
        }
        int s = toHost(c, page.asSlice(offset, size - offset), size - offset, length);
        if (s == Status.SUCCESS && !retainEvent) {
            ctrl.events.logRead(lid);
        }
        return s;
    }

    private void renderSmart() {
        MemorySegment p = page.asSlice(0, SMART_LOG_SIZE);
        p.fill((byte) 0);
        IoCommands io = ctrl.io;
        U8.set(p, nvme_smart_log.critical_warning$offset(), (byte) 0);
        U16_UNALIGNED.set(p, nvme_smart_log.temperature$offset(), (short) TEMPERATURE);
        U8.set(p, nvme_smart_log.avail_spare$offset(), (byte) 100);
        U8.set(p, nvme_smart_log.spare_thresh$offset(), (byte) 10);
        U8.set(p, nvme_smart_log.percent_used$offset(), (byte) 0);
        // Data units: thousands of 512-byte units, rounded up.
        U64_UNALIGNED.set(p, nvme_smart_log.data_units_read$offset(), (io.units512Read + 999) / 1000);
        U64_UNALIGNED.set(p, nvme_smart_log.data_units_written$offset(), (io.units512Written + 999) / 1000);
        U64_UNALIGNED.set(p, nvme_smart_log.host_reads$offset(), io.readCommands);
        U64_UNALIGNED.set(p, nvme_smart_log.host_writes$offset(), io.writeCommands);
        U64_UNALIGNED.set(p, nvme_smart_log.power_cycles$offset(), 1L);
        U64_UNALIGNED.set(p, nvme_smart_log.power_on_hours$offset(), ctrl.powerOnHours());
        U64_UNALIGNED.set(p, nvme_smart_log.unsafe_shutdowns$offset(), ctrl.unsafeShutdowns);
        U64_UNALIGNED.set(p, nvme_smart_log.media_errors$offset(), ctrl.mediaErrors);
        U64_UNALIGNED.set(p, nvme_smart_log.num_err_log_entries$offset(), ctrl.errorLog.count());
        U16_UNALIGNED.set(p, nvme_smart_log.temp_sensor$offset(), (short) TEMPERATURE);
    }
}
