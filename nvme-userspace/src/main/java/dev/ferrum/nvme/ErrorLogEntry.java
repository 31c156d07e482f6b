package dev.ferrum.nvme;

import dev.ferrum.sys.nvme.nvme_error_log;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One entry of the Error Information log page (log identifier 01h, figure 193).
 *
 * @param errorCount         the controller's error counter for this entry (0 = empty entry)
 * @param sqid               submission queue of the failed command
 * @param cid                command ID of the failed command
 * @param status             status field (CQE DW3 [31:17] in bits 15:1)
 * @param parameterLocation  byte and bit of the offending parameter
 * @param lba                first LBA involved, if any
 * @param nsid               namespace involved, if any
 */
public record ErrorLogEntry(long errorCount, int sqid, int cid, int status, int parameterLocation, long lba,
                            int nsid) {

    /** {@return the decoded status of the failed command} */
    public NvmeStatus nvmeStatus() {
        return NvmeStatus.of((status >>> 9) & 7, (status >>> 1) & 0xff);
    }

    /** Decodes the non-empty entries of an error log page (64 bytes each). */
    public static List<ErrorLogEntry> parse(MemorySegment data) {
        long size = nvme_error_log.sizeof();
        List<ErrorLogEntry> entries = new ArrayList<>();
        for (long off = 0; off + size <= data.byteSize(); off += size) {
            long count = data.get(ValueLayout.JAVA_LONG_UNALIGNED, off + nvme_error_log.error_count$offset());
            if (count == 0) {
                continue;
            }
            entries.add(new ErrorLogEntry(count,
                    ControllerInfo.u16(data, off + nvme_error_log.sqid$offset()),
                    ControllerInfo.u16(data, off + nvme_error_log.cmdid$offset()),
                    ControllerInfo.u16(data, off + nvme_error_log.status_field$offset()),
                    ControllerInfo.u16(data, off + nvme_error_log.param_error_location$offset()),
                    data.get(ValueLayout.JAVA_LONG_UNALIGNED, off + nvme_error_log.lba$offset()),
                    data.get(ValueLayout.JAVA_INT_UNALIGNED, off + nvme_error_log.nsid$offset())));
        }
        return entries;
    }
}
