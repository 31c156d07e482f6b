package dev.ferrum.agx;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferrum.agx.internal.fw.EventMsg;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes what the simulated firmware sends the driver: event messages with arbitrary type, slot, job ID, fault
 * address and flag bitmaps, stamp values, and event-channel write pointers (ARCHITECTURE rule 6: devices are
 * untrusted). Whatever arrives, the driver must validate it before using it as an index; a job submitted afterwards
 * must either complete or fail with a {@link GpuException} — never hang, never throw anything else — and a device the
 * firmware has confused must fail cleanly (state CRASHED), never corrupt memory (the mock IOMMU would record it).
 *
 * <p>Regression mode (plain {@code mvn verify}) replays the committed inputs; {@code ./ferrum fuzz AgxEventFuzzTest}
 * fuzzes for real.
 */
class AgxEventFuzzTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @FuzzTest(maxDuration = "60s")
    void firmwareMessages(FuzzedDataProvider data) throws Exception {
        AgxOptions options = AgxOptions.builder().eventSlots(8).build();
        try (TestBed t = TestBed.threaded(options)) {
            GpuBuffer b = t.gpu.allocate(4096);
            int messages = data.consumeInt(0, 8);
            for (int i = 0; i < messages; i++) {
                switch (data.consumeInt(0, 4)) {
                    case 0 -> t.firmware.postEvent(pickType(data), data.consumeInt(), data.consumeLong(),
                            data.consumeLong(), data.consumeInt(), data.consumeInt(), data.consumeInt(),
                            data.consumeInt());
                    case 1 -> t.firmware.writeStamp(data.consumeInt(0, 127), data.consumeInt());
                    case 2 -> t.firmware.corruptEventWritePointer(data.consumeInt());
                    default -> t.firmware.postEvent(EventMsg.FLAG, 0, 0, 0, data.consumeInt(), data.consumeInt(),
                            data.consumeInt(), data.consumeInt());
                }
            }
            Fence f;
            try {
                f = t.gpu.submit(ComputeJob.fill(b, 7));
            } catch (FirmwareCrashedException crashedAlready) {
                assertTrue(t.gpu.state() == AgxDevice.State.CRASHED, "refused because the device failed");
                b.close();
                return;
            }
            try {
                if (!f.await(WAIT)) {
                    fail("a job submitted after the firmware's messages neither completed nor failed in " + WAIT);
                }
                assertTrue(t.gpu.state() == AgxDevice.State.LIVE, "a completed job on a live device");
                assertTrue(b.readInts(0, 1)[0] == 7, "the job's result is correct");
            } catch (GpuException failed) {
                // A clear failure: the driver detected a protocol violation, or the firmware's messages hit this job.
                assertTrue(failed.getMessage() != null && !failed.getMessage().isBlank());
            }
            b.close();
        }
    }

    private static int pickType(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 3)) {
            case 0 -> EventMsg.FLAG;
            case 1 -> EventMsg.FAULT;
            case 2 -> EventMsg.TIMEOUT;
            default -> data.consumeInt();
        };
    }
}
