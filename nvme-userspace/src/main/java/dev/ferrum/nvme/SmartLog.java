package dev.ferrum.nvme;

import dev.ferrum.sys.nvme.nvme_smart_log;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * SMART / Health Information log page (log identifier 02h, figure 194). 128-bit counters are reported as their low
 * 64 bits, saturated at {@link Long#MAX_VALUE} if the high bits are set.
 *
 * @param criticalWarning   critical warning bits (0 = none)
 * @param temperatureKelvin composite temperature
 * @param availableSpare    percent
 * @param spareThreshold    percent
 * @param percentageUsed    percent of life used (may exceed 100)
 * @param dataUnitsRead     in units of 1000 × 512 bytes
 * @param dataUnitsWritten  in units of 1000 × 512 bytes
 * @param hostReads         read commands completed
 * @param hostWrites        write commands completed
 * @param busyMinutes       controller busy time
 * @param powerCycles       power cycles
 * @param powerOnHours      power-on hours
 * @param unsafeShutdowns   unsafe shutdowns
 * @param mediaErrors       media and data integrity errors
 * @param errorLogEntries   error information log entries over the controller's life
 */
public record SmartLog(int criticalWarning, int temperatureKelvin, int availableSpare, int spareThreshold,
                       int percentageUsed, long dataUnitsRead, long dataUnitsWritten, long hostReads,
                       long hostWrites, long busyMinutes, long powerCycles, long powerOnHours,
                       long unsafeShutdowns, long mediaErrors, long errorLogEntries) {

    /** Decodes a 512-byte SMART log page. */
    public static SmartLog parse(MemorySegment data) {
        if (data.byteSize() < nvme_smart_log.sizeof()) {
            throw new IllegalArgumentException("SMART log is " + data.byteSize() + " bytes, expected 512");
        }
        return new SmartLog(
                ControllerInfo.u8(data, nvme_smart_log.critical_warning$offset()),
                ControllerInfo.u16(data, nvme_smart_log.temperature$offset()),
                ControllerInfo.u8(data, nvme_smart_log.avail_spare$offset()),
                ControllerInfo.u8(data, nvme_smart_log.spare_thresh$offset()),
                ControllerInfo.u8(data, nvme_smart_log.percent_used$offset()),
                u128(data, nvme_smart_log.data_units_read$offset()),
                u128(data, nvme_smart_log.data_units_written$offset()),
                u128(data, nvme_smart_log.host_reads$offset()),
                u128(data, nvme_smart_log.host_writes$offset()),
                u128(data, nvme_smart_log.ctrl_busy_time$offset()),
                u128(data, nvme_smart_log.power_cycles$offset()),
                u128(data, nvme_smart_log.power_on_hours$offset()),
                u128(data, nvme_smart_log.unsafe_shutdowns$offset()),
                u128(data, nvme_smart_log.media_errors$offset()),
                u128(data, nvme_smart_log.num_err_log_entries$offset()));
    }

    private static long u128(MemorySegment s, long offset) {
        long low = s.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
        long high = s.get(ValueLayout.JAVA_LONG_UNALIGNED, offset + 8);
        return high != 0 || low < 0 ? Long.MAX_VALUE : low;
    }
}
