package dev.ferrum.nvme.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferrum.nvme.ErrorLogEntry;
import dev.ferrum.nvme.SmartLog;
import dev.ferrum.testsupport.ParserContract;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fuzzes the log page parsers (SMART / Health, Error Information): a valid record or a clear refusal. */
class LogPageParseFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void smartLog(FuzzedDataProvider data) {
        byte[] input = data.consumeRemainingAsBytes(); // the raw input: what the device wrote
        SmartLog log;
        try {
            log = SmartLog.parse(MemorySegment.ofArray(input));
        } catch (IllegalArgumentException e) {
            ParserContract.hasMessage(e);
            return;
        }
        for (long counter : new long[] {log.dataUnitsRead(), log.dataUnitsWritten(), log.hostReads(),
                log.hostWrites(), log.busyMinutes(), log.powerCycles(), log.powerOnHours(), log.unsafeShutdowns(),
                log.mediaErrors(), log.errorLogEntries()}) {
            assertTrue(counter >= 0, "128-bit counters saturate, never turn negative: " + counter);
        }
        assertTrue(log.criticalWarning() >= 0 && log.criticalWarning() <= 0xff);
        assertTrue(log.temperatureKelvin() >= 0 && log.temperatureKelvin() <= 0xffff);
    }

    @FuzzTest(maxDuration = "30s")
    void errorLog(FuzzedDataProvider data) {
        byte[] input = data.consumeRemainingAsBytes(); // the raw input: what the device wrote
        List<ErrorLogEntry> entries;
        try {
            entries = ErrorLogEntry.parse(MemorySegment.ofArray(input));
        } catch (IllegalArgumentException e) {
            ParserContract.hasMessage(e);
            return;
        }
        assertTrue(entries.size() <= input.length / 64, entries.size() + " entries in " + input.length + " bytes");
        for (ErrorLogEntry e : entries) {
            assertTrue(e.errorCount() != 0, "empty entries are skipped");
            assertTrue(e.sqid() >= 0 && e.sqid() <= 0xffff && e.cid() >= 0 && e.cid() <= 0xffff);
            e.nvmeStatus().toString();
        }
    }
}
