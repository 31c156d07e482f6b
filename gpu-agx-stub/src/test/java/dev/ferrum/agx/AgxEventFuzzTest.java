package dev.ferrum.agx;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferrum.agx.internal.fw.ChannelLayout;
import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.EventMsg;
import dev.ferrum.agx.internal.fw.Regs;

import java.time.Duration;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes what the simulated firmware writes for the driver (ARCHITECTURE rule 6: devices are untrusted): event
 * messages (typed fields or all 64 raw bytes), stamp values, the event ring's write pointer, the transmit rings'
 * read pointers, the queues' {@code gpu_rptr}/{@code gpu_doneptr}, and the result block of a command (status, fault
 * flags, fault address). Whatever arrives, the driver must validate it before using it as an index; a job must
 * complete or fail with a {@link GpuException} — never hang, never throw anything else — and a device the firmware
 * has confused must fail cleanly (state CRASHED). At the end of each input the mock IOMMU must have blocked nothing,
 * unless the firmware reported the blocked access to the driver: {@link TestBed#close()}, which ends every input,
 * checks that over all the faults the IOMMU recorded during the input, after the device closed.
 *
 * <p>Regression mode (plain {@code mvn verify}) replays the committed inputs
 * ({@code src/test/resources/dev/ferrum/agx/AgxEventFuzzTestInputs/<method>/}); {@code ./ferrum fuzz
 * AgxEventFuzzTest#<method>} fuzzes one target for real.
 */
class AgxEventFuzzTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** Typed event messages, stamps and the event ring's write pointer, then a job. */
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
            awaitInjections(t);
            runOneJob(t, b);
            b.close();
        }
    }

    /**
     * Raw 64-byte events, read pointers of the transmit rings, the event ring's write pointer and the queue
     * pointers the firmware writes on completion; then a job, and a buffer close (a TLB invalidation through the
     * device-control ring).
     */
    @FuzzTest(maxDuration = "60s")
    void rawEventsAndRingPointers(FuzzedDataProvider data) throws Exception {
        // A short command timeout: a ring the firmware made look full fails a submission quickly.
        AgxOptions options = AgxOptions.builder().eventSlots(8).commandTimeout(Duration.ofMillis(200)).build();
        try (TestBed t = TestBed.threaded(options)) {
            GpuBuffer b = t.gpu.allocate(4096);
            GpuBuffer spare = t.gpu.allocate(4096);
            int actions = data.consumeInt(0, 8);
            for (int i = 0; i < actions; i++) {
                switch (data.consumeInt(0, 3)) {
                    case 0 -> t.firmware.postRawEvent(Arrays.copyOf(data.consumeBytes((int) ChannelLayout.MSG_SIZE),
                            (int) ChannelLayout.MSG_SIZE));
                    case 1 -> t.firmware.corruptTransmitReadPointer(
                            data.consumeBoolean() ? Regs.CH_PIPE : Regs.CH_DEVICE_CONTROL, pickPointer(data));
                    case 2 -> t.firmware.corruptEventWritePointer(pickPointer(data));
                    default -> t.firmware.corruptNextQueuePointers(pickPointer(data), pickPointer(data));
                }
            }
            awaitInjections(t);
            runOneJob(t, b);
            closeBuffer(spare);
            closeBuffer(b);
        }
    }

    /**
     * Result blocks the firmware writes in place of the true ones (any status, fault flags and address), and queue
     * pointers it writes on completion. The driver ignores the queue pointers (it counts completions by stamps), so
     * they must change nothing; the result decides exactly how the job ends, and the device goes on.
     */
    @FuzzTest(maxDuration = "60s")
    void resultBlocks(FuzzedDataProvider data) throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer b = t.gpu.allocate(4096);
            int jobs = data.consumeInt(1, 4);
            int failures = 0;
            for (int i = 0; i < jobs; i++) {
                boolean garbled = data.consumeBoolean();
                int status = garbled ? pickStatus(data) : CommandLayout.STATUS_OK;
                int flags = data.consumeInt();
                long address = data.consumeLong();
                if (garbled) {
                    t.firmware.corruptNextResult(status, flags, address);
                }
                if (data.consumeBoolean()) {
                    t.firmware.corruptNextQueuePointers(data.consumeInt(), data.consumeInt());
                }
                Fence f = t.gpu.submit(ComputeJob.fill(b, 4L * i, 4, i + 1));
                if (status == CommandLayout.STATUS_OK) {
                    assertTrue(f.await(WAIT), "job " + f.jobId() + " with a good result block did not finish in "
                            + WAIT);
                    assertEquals(i + 1, b.readInts(4L * i, 1)[0], "the job's output");
                } else {
                    checkFailure(f, status, flags, address);
                    failures++;
                }
            }
            assertEquals(AgxDevice.State.LIVE, t.gpu.state(), "a result block fails its job, not the device");
            assertEquals(failures, t.gpu.stats().failed());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    /** The job's failure is exactly what its result block says. */
    private static void checkFailure(Fence f, int status, int flags, long address) {
        GpuException e = assertThrows(GpuException.class, () -> f.await(WAIT));
        assertEquals(f.jobId(), e.jobId(), "the failure names its job");
        switch (status) {
            case CommandLayout.STATUS_FAULT -> {
                GpuFaultException g = assertInstanceOf(GpuFaultException.class, e);
                assertEquals(address, g.faultAddress());
                assertEquals((flags & CommandLayout.FAULT_WRITE) != 0, g.isWrite());
                GpuFaultException.Kind kind = (flags & CommandLayout.FAULT_PERMISSION) != 0
                        ? GpuFaultException.Kind.PERMISSION
                        : (flags & CommandLayout.FAULT_IOMMU) != 0 ? GpuFaultException.Kind.IOMMU
                        : GpuFaultException.Kind.UNMAPPED;
                assertEquals(kind, g.kind());
            }
            case CommandLayout.STATUS_TIMEOUT -> assertInstanceOf(GpuTimeoutException.class, e);
            case CommandLayout.STATUS_INVALID -> {
                assertEquals(GpuException.class, e.getClass());
                assertTrue(e.getMessage().contains("rejected the command as invalid"), e.getMessage());
            }
            default -> {
                assertEquals(GpuException.class, e.getClass());
                assertTrue(e.getMessage().contains("status 0x" + Integer.toHexString(status) + " (not a known status)"),
                        e.getMessage());
            }
        }
    }

    /** Lets the firmware carry out the injections first, so each input means one thing (no race with the job). */
    private static void awaitInjections(TestBed t) {
        TestBed.await("the firmware to carry out the injected misbehaviour", () -> t.firmware.injectionsDone()
                || t.firmware.isCrashed() || t.gpu.state() != AgxDevice.State.LIVE);
    }

    /** Submits a fill after the firmware's misbehaviour: it completes right or fails clearly, and never hangs. */
    private static void runOneJob(TestBed t, GpuBuffer b) throws InterruptedException {
        Fence f;
        try {
            f = t.gpu.submit(ComputeJob.fill(b, 7));
        } catch (FirmwareCrashedException crashedAlready) {
            assertEquals(AgxDevice.State.CRASHED, t.gpu.state(), "refused because the device failed");
            return;
        } catch (GpuException refused) {
            // The firmware made a ring unusable (the device fails from the workqueue).
            assertTrue(refused.getMessage().startsWith("cannot run queue"), refused.getMessage());
            return;
        }
        try {
            if (!f.await(WAIT)) {
                fail("a job submitted after the firmware's messages neither completed nor failed in " + WAIT);
            }
            assertEquals(AgxDevice.State.LIVE, t.gpu.state(), "a completed job on a live device");
            assertEquals(7, b.readInts(0, 1)[0], "the job's result is correct");
        } catch (GpuException failed) {
            // A clear failure: the driver detected a protocol violation, or the firmware's messages hit this job.
            assertTrue(failed.getMessage() != null && !failed.getMessage().isBlank());
        }
    }

    /** Closes {@code b}; the only acceptable failure is an unacknowledged TLB invalidation (memory kept). */
    private static void closeBuffer(GpuBuffer b) {
        try {
            b.close();
        } catch (GpuException e) {
            assertTrue(e.getMessage().contains("did not acknowledge the TLB invalidation"), e.getMessage());
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

    /** Mostly a pointer inside the rings (the interesting, plausible lies), sometimes any value. */
    private static int pickPointer(FuzzedDataProvider data) {
        return data.consumeBoolean() ? data.consumeInt(0, 255) : data.consumeInt();
    }

    private static int pickStatus(FuzzedDataProvider data) {
        return data.consumeBoolean() ? data.consumeInt(CommandLayout.STATUS_PENDING, CommandLayout.STATUS_INVALID + 1)
                : data.consumeInt();
    }
}
