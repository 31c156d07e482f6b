package dev.ferrum.nvme;

import dev.ferrum.sys.nvme.nvme_id_ctrl;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Identify Controller data (figure 247), decoded and validated: the device is untrusted, so every field used as a
 * size or a count is range-checked, and text fields keep only printable ASCII.
 *
 * @param vendorId             PCI vendor ID (VID)
 * @param subsystemVendorId    SSVID
 * @param serialNumber         SN, trimmed
 * @param modelNumber          MN, trimmed
 * @param firmwareRevision     FR, trimmed
 * @param mdts                 maximum data transfer size as reported: {@code 2^mdts} minimum pages; 0 = no limit
 * @param controllerId         CNTLID
 * @param version              VER, e.g. {@code 0x00010400} for 1.4.0 (0 if the controller does not report it)
 * @param abortLimit           concurrent Abort commands supported (ACL + 1)
 * @param asyncEventLimit      concurrent Asynchronous Event Requests supported (AERL + 1)
 * @param errorLogEntries      error log entries kept (ELPE + 1)
 * @param namespaceCount       NN: the highest namespace ID
 * @param oncs                 optional NVM command support bits
 * @param volatileWriteCache   whether a volatile write cache is present (VWC bit 0)
 * @param sqes                 SQES (required [3:0], maximum [7:4], powers of two)
 * @param cqes                 CQES
 * @param totalCapacity        TNVMCAP (low 64 bits), bytes
 * @param subsystemNqn         SUBNQN
 */
public record ControllerInfo(int vendorId, int subsystemVendorId, String serialNumber, String modelNumber,
                             String firmwareRevision, int mdts, int controllerId, int version, int abortLimit,
                             int asyncEventLimit, int errorLogEntries, long namespaceCount, int oncs,
                             boolean volatileWriteCache, int sqes, int cqes, long totalCapacity,
                             String subsystemNqn) {
    static final int ONCS_DSM = 1 << 2;
    static final int ONCS_WRITE_ZEROES = 1 << 3;

    /** {@return whether Dataset Management (deallocate) is supported} */
    public boolean supportsDeallocate() {
        return (oncs & ONCS_DSM) != 0;
    }

    /** {@return whether Write Zeroes is supported} */
    public boolean supportsWriteZeroes() {
        return (oncs & ONCS_WRITE_ZEROES) != 0;
    }

    /** {@return the version as {@code major.minor.tertiary}} */
    public String versionString() {
        return (version >>> 16) + "." + ((version >>> 8) & 0xff) + "." + (version & 0xff);
    }

    /**
     * {@return the maximum data transfer size in bytes for a controller page size, or 0 for no limit}
     */
    public long maxTransferBytes(long minPageSize) {
        return mdts == 0 ? 0 : minPageSize << mdts;
    }

    /**
     * Decodes a 4096-byte Identify Controller structure.
     *
     * @throws IllegalArgumentException if the data is too short, or describes entry sizes the driver cannot use
     *                                  (the message names the field and value)
     */
    public static ControllerInfo parse(MemorySegment data) {
        if (data.byteSize() < nvme_id_ctrl.sizeof()) {
            throw new IllegalArgumentException("Identify Controller data is " + data.byteSize() + " bytes, expected "
                    + nvme_id_ctrl.sizeof());
        }
        int sqes = u8(data, nvme_id_ctrl.sqes$offset());
        int cqes = u8(data, nvme_id_ctrl.cqes$offset());
        // Required sizes must not exceed the 64-byte SQE and 16-byte CQE the driver uses; maxima must allow them.
        if ((sqes & 0xf) > 6 || (sqes >>> 4) < 6) {
            throw new IllegalArgumentException(String.format(
                    "Identify Controller SQES 0x%02x does not allow 64-byte submission entries", sqes));
        }
        if ((cqes & 0xf) > 4 || (cqes >>> 4) < 4) {
            throw new IllegalArgumentException(String.format(
                    "Identify Controller CQES 0x%02x does not allow 16-byte completion entries", cqes));
        }
        int mdts = u8(data, nvme_id_ctrl.mdts$offset());
        if (mdts > 20) {
            throw new IllegalArgumentException("Identify Controller MDTS " + mdts + " is implausible (> 2^20 pages)");
        }
        return new ControllerInfo(
                u16(data, nvme_id_ctrl.vid$offset()),
                u16(data, nvme_id_ctrl.ssvid$offset()),
                text(data, nvme_id_ctrl.sn$offset(), 20),
                text(data, nvme_id_ctrl.mn$offset(), 40),
                text(data, nvme_id_ctrl.fr$offset(), 8),
                mdts,
                u16(data, nvme_id_ctrl.cntlid$offset()),
                data.get(ValueLayout.JAVA_INT_UNALIGNED, nvme_id_ctrl.ver$offset()),
                u8(data, nvme_id_ctrl.acl$offset()) + 1,
                u8(data, nvme_id_ctrl.aerl$offset()) + 1,
                u8(data, nvme_id_ctrl.elpe$offset()) + 1,
                Integer.toUnsignedLong(data.get(ValueLayout.JAVA_INT_UNALIGNED, nvme_id_ctrl.nn$offset())),
                u16(data, nvme_id_ctrl.oncs$offset()),
                (u8(data, nvme_id_ctrl.vwc$offset()) & 1) != 0,
                sqes, cqes,
                data.get(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ctrl.tnvmcap$offset()),
                text(data, nvme_id_ctrl.subnqn$offset(), 256));
    }

    static int u8(MemorySegment s, long offset) {
        return s.get(ValueLayout.JAVA_BYTE, offset) & 0xff;
    }

    static int u16(MemorySegment s, long offset) {
        return s.get(ValueLayout.JAVA_SHORT_UNALIGNED, offset) & 0xffff;
    }

    /** Space- or NUL-padded ASCII; anything unprintable becomes '?'. */
    static String text(MemorySegment s, long offset, int length) {
        StringBuilder b = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            int c = s.get(ValueLayout.JAVA_BYTE, offset + i) & 0xff;
            if (c == 0) {
                break;
            }
            b.append(c >= 0x20 && c < 0x7f ? (char) c : '?');
        }
        return b.toString().strip();
    }
}
