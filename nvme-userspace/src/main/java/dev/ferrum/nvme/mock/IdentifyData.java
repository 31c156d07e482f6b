package dev.ferrum.nvme.mock;

import dev.ferrum.sys.nvme.Nvme;
import dev.ferrum.sys.nvme.nvme_id_ctrl;
import dev.ferrum.sys.nvme.nvme_id_ns;
import dev.ferrum.sys.nvme.nvme_lbaf;
import dev.ferrum.sys.nvme.nvme_power_state;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static dev.ferrum.nvme.mock.Layout.U16;
import static dev.ferrum.nvme.mock.Layout.U32;
import static dev.ferrum.nvme.mock.Layout.U64;
import static dev.ferrum.nvme.mock.Layout.U8;

/**
 * Builds the Identify data structures (NVMe 1.4 figures 247 and 249) once, at controller construction. Field
 * offsets come from the {@code nvme.h} bindings.
 */
final class IdentifyData {
    private IdentifyData() {}

    static final int SIZE = 4096;
    /** NVMe version 1.4.0 as VS and Identify VER encode it. */
    static final int VERSION = 0x0001_0400;
    /** Warning composite temperature threshold: 343 K (70 °C). */
    static final int WCTEMP = 343;
    /** Critical composite temperature threshold: 358 K (85 °C). */
    static final int CCTEMP = 358;
    /** LBA formats offered by every namespace: index 0 is 512-byte blocks, index 1 is 4 KiB blocks. */
    static final int[] LBA_SHIFTS = {9, 12};

    static MemorySegment controller(MockNvmeController.Config c, int vendorId, int subsystemVendorId) {
        MemorySegment s = Arena.ofAuto().allocate(SIZE, 8);
        U16.set(s, nvme_id_ctrl.vid$offset(), (short) vendorId);
        U16.set(s, nvme_id_ctrl.ssvid$offset(), (short) subsystemVendorId);
        ascii(s, nvme_id_ctrl.sn$offset(), 20, c.serial());
        ascii(s, nvme_id_ctrl.mn$offset(), 40, c.model());
        ascii(s, nvme_id_ctrl.fr$offset(), 8, c.firmware());
        U8.set(s, nvme_id_ctrl.rab$offset(), (byte) 3);
        U8.set(s, nvme_id_ctrl.mdts$offset(), (byte) c.mdts());
        U16.set(s, nvme_id_ctrl.cntlid$offset(), (short) c.controllerId());
        U32.set(s, nvme_id_ctrl.ver$offset(), VERSION);
        U8.set(s, nvme_id_ctrl.cntrltype$offset(), (byte) 1); // I/O controller
        U16.set(s, nvme_id_ctrl.oacs$offset(), (short) 0);
        U8.set(s, nvme_id_ctrl.acl$offset(), (byte) (c.abortLimit() - 1));
        U8.set(s, nvme_id_ctrl.aerl$offset(), (byte) (c.asyncEventLimit() - 1));
        U8.set(s, nvme_id_ctrl.frmw$offset(), (byte) 0x03); // one slot, slot 1 read-only
        U8.set(s, nvme_id_ctrl.lpa$offset(), (byte) 0x04); // Get Log Page extended data (offsets, NUMDU)
        U8.set(s, nvme_id_ctrl.elpe$offset(), (byte) (c.errorLogEntries() - 1));
        U8.set(s, nvme_id_ctrl.npss$offset(), (byte) 0);
        U16.set(s, nvme_id_ctrl.wctemp$offset(), (short) WCTEMP);
        U16.set(s, nvme_id_ctrl.cctemp$offset(), (short) CCTEMP);
        long capacity = 0;
        for (MockNvmeController.Namespace ns : c.namespaces()) {
            capacity += ns.blocks() * ns.lbaSize();
        }
        U64.set(s, nvme_id_ctrl.tnvmcap$offset(), capacity);
        U8.set(s, nvme_id_ctrl.sqes$offset(), (byte) 0x66);
        U8.set(s, nvme_id_ctrl.cqes$offset(), (byte) 0x44);
        U16.set(s, nvme_id_ctrl.maxcmd$offset(), (short) 0);
        U32.set(s, nvme_id_ctrl.nn$offset(), c.namespaces().size());
        U16.set(s, nvme_id_ctrl.oncs$offset(), (short) c.oncs());
        // VWC bit 0: a volatile write cache is present; bits 2:1 = 11b: Flush accepts NSID FFFFFFFFh.
        U8.set(s, nvme_id_ctrl.vwc$offset(), (byte) ((c.volatileWriteCache() ? 1 : 0) | 0x6));
        U32.set(s, nvme_id_ctrl.sgls$offset(), 0); // PRPs only
        ascii(s, nvme_id_ctrl.subnqn$offset(), 256, "nqn.2024-01.dev.ferrum:nvme-mock:" + c.serial().trim());
        long psd0 = nvme_id_ctrl.psd$offset();
        U16.set(s, psd0 + nvme_power_state.mp$offset(), (short) 1000); // 10 W
        return s;
    }

    static MemorySegment namespace(MockNvmeController.Config c, int nsid, long blocks, int lbaShift) {
        MemorySegment s = Arena.ofAuto().allocate(SIZE, 8);
        U64.set(s, nvme_id_ns.nsze$offset(), blocks);
        U64.set(s, nvme_id_ns.ncap$offset(), blocks);
        U64.set(s, nvme_id_ns.nuse$offset(), blocks);
        U8.set(s, nvme_id_ns.nlbaf$offset(), (byte) (LBA_SHIFTS.length - 1));
        U8.set(s, nvme_id_ns.flbas$offset(), (byte) (lbaShift == 9 ? 0 : 1));
        // DLFEAT bits 2:0 = 001b: deallocated blocks read as zeroes; bit 3: Write Zeroes may deallocate.
        U8.set(s, nvme_id_ns.dlfeat$offset(), (byte) (0x1 | ((c.oncs() & Nvme.NVME_ONCS_WRITE_ZEROES()) != 0
                ? 0x8 : 0)));
        U64.set(s, nvme_id_ns.nvmcap$offset(), blocks << lbaShift);
        byte[] serial = c.serial().trim().getBytes(StandardCharsets.US_ASCII);
        long nguid = nvme_id_ns.nguid$offset();
        for (int i = 0; i < 12; i++) {
            U8.set(s, nguid + i, i < serial.length ? serial[i] : (byte) 0);
        }
        U32.set(s, nguid + 12, Integer.reverseBytes(nsid));
        long eui = nvme_id_ns.eui64$offset();
        U32.set(s, eui, Integer.reverseBytes(0x1de5f0));
        U32.set(s, eui + 4, Integer.reverseBytes(nsid));
        long lbaf = nvme_id_ns.lbaf$offset();
        for (int i = 0; i < LBA_SHIFTS.length; i++) {
            long f = lbaf + (long) i * nvme_lbaf.sizeof();
            U16.set(s, f + nvme_lbaf.ms$offset(), (short) 0);
            U8.set(s, f + nvme_lbaf.ds$offset(), (byte) LBA_SHIFTS[i]);
            U8.set(s, f + nvme_lbaf.rp$offset(), (byte) (LBA_SHIFTS[i] == 12 ? 0 : 1));
        }
        return s;
    }

    /** Writes {@code text} as ASCII, space padded to {@code width} bytes (the spec's string format). */
    static void ascii(MemorySegment s, long offset, int width, String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            U8.set(s, offset + i, i < b.length ? b[i] : (byte) ' ');
        }
    }
}
