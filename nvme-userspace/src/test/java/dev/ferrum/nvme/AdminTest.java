package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.internal.NvmeCommandEvent;
import dev.ferrum.nvme.mock.CommandView;
import dev.ferrum.sys.nvme.Nvme;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdminTest {

    @Test
    void smartLogCountsTheIo() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(8192)) {
            SmartLog before = t.ctrl.smartLog();
            for (int i = 0; i < 5; i++) {
                qp.write(t.ns(), i * 16L, 16, buf);
            }
            for (int i = 0; i < 3; i++) {
                qp.read(t.ns(), i * 16L, 16, buf);
            }
            SmartLog after = t.ctrl.smartLog();
            assertEquals(5, after.hostWrites() - before.hostWrites());
            assertEquals(3, after.hostReads() - before.hostReads());
            assertTrue(after.dataUnitsWritten() >= 1, "40 KiB written: at least one unit of 512,000 bytes, rounded up");
            assertEquals(300, after.temperatureKelvin());
            assertEquals(0, after.criticalWarning());
        }
    }

    @Test
    void errorLogRecordsAFailedCommand() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            t.mock.injectStatus(CommandView.io(Nvme.NVME_CMD_WRITE()), NvmeStatus.WRITE_FAULT, false, 1);
            assertThrows(NvmeCommandException.class, () -> qp.write(t.ns(), 5, 1, buf));
            List<ErrorLogEntry> log = t.ctrl.errorLog();
            assertFalse(log.isEmpty());
            ErrorLogEntry e = log.getFirst();
            assertEquals(1, e.sqid());
            assertEquals(NvmeStatus.WRITE_FAULT, e.nvmeStatus());
            assertTrue(e.errorCount() >= 1);
        }
    }

    @Test
    void featuresCanBeReadAndSet() {
        try (TestBed t = new TestBed()) {
            assertEquals(1, t.ctrl.getFeature(Nvme.NVME_FEAT_VOLATILE_WC()) & 1, "write cache enabled by default");
            t.ctrl.setFeature(Nvme.NVME_FEAT_VOLATILE_WC(), 0);
            assertEquals(0, t.ctrl.getFeature(Nvme.NVME_FEAT_VOLATILE_WC()) & 1);
            NvmeCommandException e = assertThrows(NvmeCommandException.class, () -> t.ctrl.getFeature(0x7e));
            assertEquals(NvmeStatus.INVALID_FIELD, e.status());
            assertTrue(e.getMessage().startsWith("Get Features (FID 0x7e) failed: Invalid Field in Command"),
                    e.getMessage());
        }
    }

    @Test
    void asyncEventsReachListenersAndAreRearmed() throws Exception {
        try (TestBed t = new TestBed()) {
            CompletableFuture<AsyncEvent> first = new CompletableFuture<>();
            CompletableFuture<AsyncEvent> second = new CompletableFuture<>();
            t.ctrl.onAsyncEvent(e -> {
                if (!first.complete(e)) {
                    second.complete(e);
                }
            });
            t.mock.postAsyncEvent(AsyncEvent.TYPE_SMART, 0x01, Nvme.NVME_LOG_SMART());
            AsyncEvent e = first.get(10, TimeUnit.SECONDS);
            assertEquals(new AsyncEvent(AsyncEvent.TYPE_SMART, 0x01, Nvme.NVME_LOG_SMART()), e);
            t.mock.postAsyncEvent(AsyncEvent.TYPE_NOTICE, 0x02, 0x04);
            assertEquals(AsyncEvent.TYPE_NOTICE, second.get(10, TimeUnit.SECONDS).type(), "the request was re-armed");
        }
    }

    @Test
    void commandsAppearAsJfrEventsWhenEnabled() throws Exception {
        assertTrue(NvmeCommandEvent.ENABLED, "the nvme tests run with -Dferrum.nvme.jfr=true");
        Path file = Files.createTempFile("ferrum-nvme", ".jfr");
        try (Recording r = new Recording()) {
            r.enable("dev.ferrum.nvme.Command").withThreshold(java.time.Duration.ZERO);
            r.start();
            try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
                qp.write(t.ns(), 33, 8, buf);
                qp.read(t.ns(), 33, 8, buf);
            }
            r.stop();
            r.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("dev.ferrum.nvme.Command")).toList();
        Files.deleteIfExists(file);
        assertEquals(2, events.size(), events.toString());
        RecordedEvent w = events.stream().filter(e -> e.getString("operation").equals("Write")).findFirst()
                .orElseThrow();
        assertEquals(33, w.getLong("lba"));
        assertEquals(8, w.getInt("blocks"));
        assertEquals(1, w.getInt("queue"));
        assertEquals("success", w.getString("status"));
        assertTrue(w.getDuration().toNanos() > 0);
    }
}
