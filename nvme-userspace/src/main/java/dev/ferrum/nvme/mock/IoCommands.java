package dev.ferrum.nvme.mock;

import dev.ferrum.sys.nvme.Nvme;
import dev.ferrum.sys.nvme.nvme_dsm_range;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.ferrum.nvme.mock.Layout.U32;
import static dev.ferrum.nvme.mock.Layout.U64;

/**
 * The NVM command set (NVMe 1.4 section 6): Flush, Write, Read, Write Zeroes, Dataset Management. Validates
 * everything the host gave (namespace, LBA range, transfer size against MDTS, PRPs) and keeps the SMART counters.
 *
 * <p>Invariants: nothing is transferred for a command that fails validation; counters count successful commands
 * only; in null mode Read and Write skip the data transfer (nothing is read from or written to host memory or the
 * medium) after the same validation. Controller thread only; no allocation per command.
 */
final class IoCommands {
    static final int FLUSH = Nvme.NVME_CMD_FLUSH();
    static final int WRITE = Nvme.NVME_CMD_WRITE();
    static final int READ = Nvme.NVME_CMD_READ();
    static final int WRITE_ZEROES = Nvme.NVME_CMD_WRITE_ZEROES();
    static final int DSM = Nvme.NVME_CMD_DSM();
    private static final int BROADCAST_NSID = 0xffffffff;
    private static final long DSM_RANGE = nvme_dsm_range.sizeof();
    private static final int DSM_MAX_RANGES = 256;
    /** DSM attribute: deallocate (CDW11 bit 2). */
    private static final int DSM_AD = 1 << 2;

    private final MockNvmeController ctrl;
    private final MemorySegment ranges = Arena.ofAuto().allocate(DSM_RANGE * DSM_MAX_RANGES, 8);

    long readCommands;
    long writeCommands;
    /** Bytes read and written by the host, in 512-byte units (the SMART log reports thousands of these). */
    long units512Read;
    long units512Written;

    IoCommands(MockNvmeController ctrl) {
        this.ctrl = ctrl;
    }

    /** Executes {@code c}; {@return its status} */
    int execute(Command c) {
        if ((c.flags & 0xc3) != 0) {
            return Status.INVALID_FIELD; // fused operations and SGLs (PSDT) are not supported
        }
        int op = c.opcode;
        if (op == READ || op == WRITE) {
            return readWrite(c, op == WRITE);
        }
        if (op == FLUSH) {
            return flush(c);
        }
        if (op == WRITE_ZEROES && (ctrl.config.oncs() & Nvme.NVME_ONCS_WRITE_ZEROES()) != 0) {
            return writeZeroes(c);
        }
        if (op == DSM && (ctrl.config.oncs() & Nvme.NVME_ONCS_DSM()) != 0) {
            return datasetManagement(c);
        }
        return Status.INVALID_OPCODE;
    }

    private int checkRange(NamespaceState ns, Command c, long slba, long blocks) {
        // SLBA is unsigned 64-bit: a negative long is beyond any namespace.
        if (slba < 0 || slba >= ns.blocks || ns.blocks - slba < blocks) {
            c.errorLba = slba;
            return Status.LBA_OUT_OF_RANGE;
        }
        return Status.SUCCESS;
    }

    /** What {@link #lbaCommand} decoded: the namespace, starting LBA and block count. */
    private NamespaceState target;
    private long slba;
    private int blocks;

    /** Validates the namespace and the SLBA/NLB range of a Read, Write or Write Zeroes. {@return a status} */
    private int lbaCommand(Command c) {
        target = ctrl.namespace(c.nsid);
        slba = c.slba();
        blocks = c.blocks();
        return target == null ? Status.INVALID_NAMESPACE : checkRange(target, c, slba, blocks);
    }

    private int readWrite(Command c, boolean write) {
        int s = lbaCommand(c);
        if (s != Status.SUCCESS) {
            return s;
        }
        NamespaceState ns = target;
        long bytes = (long) blocks << ns.lbaShift;
        long max = ctrl.maxTransferBytes();
        if (max != 0 && bytes > max) {
            return Status.INVALID_FIELD;
        }
        if (!ctrl.config.nullMode()) {
            long offset = slba << ns.lbaShift;
            s = write
                    ? ctrl.prp.hostToStore(ctrl.engine(), ns.store, offset, c.prp1, c.prp2, bytes, ctrl.pageSize)
                    : ctrl.prp.storeToHost(ctrl.engine(), ns.store, offset, c.prp1, c.prp2, bytes, ctrl.pageSize);
            if (s != Status.SUCCESS) {
                c.errorLba = slba;
                return s;
            }
        }
        if (write) {
            writeCommands++;
            units512Written += bytes >>> 9;
        } else {
            readCommands++;
            units512Read += bytes >>> 9;
        }
        return Status.SUCCESS;
    }

    private int flush(Command c) {
        if (c.nsid == BROADCAST_NSID) {
            for (int n = 1; n <= ctrl.namespaceCount(); n++) {
                ctrl.namespace(n).store.flush();
            }
            return Status.SUCCESS;
        }
        NamespaceState ns = ctrl.namespace(c.nsid);
        if (ns == null) {
            return Status.INVALID_NAMESPACE;
        }
        ns.store.flush();
        return Status.SUCCESS;
    }

    private int writeZeroes(Command c) {
        int s = lbaCommand(c);
        if (s != Status.SUCCESS) {
            return s;
        }
        NamespaceState ns = target;
        // Deallocated blocks read as zeroes here (DLFEAT), so DEAC and plain zeroing look the same to the host.
        if (!ctrl.config.nullMode()) {
            ns.store.zero(slba << ns.lbaShift, (long) blocks << ns.lbaShift);
        }
        return Status.SUCCESS;
    }

    private int datasetManagement(Command c) {
        NamespaceState ns = ctrl.namespace(c.nsid);
        if (ns == null) {
            return Status.INVALID_NAMESPACE;
        }
        int count = (c.cdw10 & 0xff) + 1;
        MemorySegment list = ranges.asSlice(0, count * DSM_RANGE);
        int s = ctrl.prp.hostToBuffer(ctrl.engine(), list, c.prp1, c.prp2, ctrl.pageSize);
        if (s != Status.SUCCESS) {
            return s;
        }
        // Validate every range before deallocating any, so a bad range changes nothing.
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < count; i++) {
                long r = i * DSM_RANGE;
                long blocks = (int) U32.get(list, r + nvme_dsm_range.nlb$offset()) & 0xffffffffL;
                long slba = (long) U64.get(list, r + nvme_dsm_range.slba$offset());
                if (blocks == 0) {
                    continue;
                }
                if (pass == 0 && (s = checkRange(ns, c, slba, blocks)) != Status.SUCCESS) {
                    return s;
                }
                if (pass == 1 && (c.cdw11 & DSM_AD) != 0) {
                    ns.store.zero(slba << ns.lbaShift, blocks << ns.lbaShift);
                }
            }
        }
        return Status.SUCCESS;
    }
}
