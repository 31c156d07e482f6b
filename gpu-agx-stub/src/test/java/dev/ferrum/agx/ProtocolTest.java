package dev.ferrum.agx;

import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.EventMsg;
import dev.ferrum.agx.internal.fw.Regs;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device is untrusted (ARCHITECTURE rule 6): what the firmware writes is validated before it is used. Harmless
 * garbage is counted and ignored; state that cannot be trusted any more (a stamp beyond what was submitted, a ring
 * pointer out of range) fails the device cleanly, never the JVM, and no waiter hangs.
 */
class ProtocolTest {

    @Test
    void bogusEventsAreCountedAndIgnored() throws Exception {
        AgxOptions options = AgxOptions.builder().eventSlots(8).build();
        try (TestBed t = TestBed.threaded(options)) {
            GpuBuffer b = t.gpu.allocate(4096);
            t.firmware.postEvent(EventMsg.FLAG, 0, 0, 0, 1 << 3);            // slot 3 has no owner
            t.firmware.postEvent(EventMsg.FLAG, 0, 0, 0, 0, 0, 0, 1 << 31);   // slot 127, beyond the 8 in use
            t.firmware.postEvent(0x77, 0, 0, 0);                             // unknown type
            t.firmware.postEvent(EventMsg.FAULT, 1000, 42, 0xdead, 0);       // fault naming slot 1000
            TestBed.await("the bogus events to be handled", () -> t.gpu.stats().protocolErrors() == 3);
            assertEquals(1, t.gpu.stats().faults(), "the fault event is counted, its slot rejected");
            TestBed.awaitOk(t.gpu.submit(ComputeJob.fill(b, 3)));
            assertEquals(3, b.readInts(0, 1)[0]);
            assertEquals(AgxDevice.State.LIVE, t.gpu.state());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void aStampBeyondWhatWasSubmittedFailsTheDevice() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer b = t.gpu.allocate(4096);
            t.firmware.pause();
            Fence f = t.gpu.submit(ComputeJob.fill(b, 1));
            int slot = t.gpu.defaultQueue().queue().eventSlot();
            int submitted = (int) t.gpu.defaultQueue().queue().sequences()[3];
            t.firmware.writeStamp(slot, submitted + 5); // the firmware claims work nobody submitted
            FirmwareCrashedException e = assertThrows(FirmwareCrashedException.class, () -> f.await(TestBed.WAIT));
            assertEquals(FirmwareCrashedException.DETECTED_BY_DRIVER, e.crashCode());
            assertTrue(e.getMessage().contains("protocol violation"), e.getMessage());
            assertTrue(e.getMessage().contains("beyond the last value submitted"), e.getMessage());
            assertEquals(AgxDevice.State.CRASHED, t.gpu.state());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void anEventWritePointerOutOfRangeFailsTheDevice() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer b = t.gpu.allocate(4096);
            t.firmware.pause();
            Fence f = t.gpu.submit(ComputeJob.fill(b, 1).withTimeout(Duration.ofSeconds(30)));
            t.firmware.corruptEventWritePointer(100_000);
            FirmwareCrashedException e = assertThrows(FirmwareCrashedException.class, () -> f.await(TestBed.WAIT));
            assertTrue(e.getMessage().contains("write pointer is 100000, outside 0..255"), e.getMessage());
            b.close();
        }
    }

    @Test
    void aPipeReadPointerPastTheWritePointerFailsTheDevice() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer b = t.gpu.allocate(4096);
            TestBed.awaitOk(t.gpu.submit(ComputeJob.fill(b, 1))); // one pipe message sent and consumed
            corruptReadPointer(t, Regs.CH_PIPE, 5);
            GpuException e = assertThrows(GpuException.class, () -> t.gpu.submit(ComputeJob.fill(b, 2)));
            assertTrue(e.getMessage().contains("pipe channel: the firmware's read pointer moved from 0 to 5, which is "
                    + "not between it and the write pointer 1"), e.getMessage());
            TestBed.await("the device to fail", () -> t.gpu.state() == AgxDevice.State.CRASHED);
            assertTrue(t.gpu.failure().orElseThrow().contains("protocol violation"), t.gpu.failure().orElseThrow());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void aDeviceControlReadPointerPastTheWritePointerFailsTheDevice() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer b = t.gpu.allocate(4096);
            corruptReadPointer(t, Regs.CH_DEVICE_CONTROL, 3);
            b.close(); // the TLB invalidation finds the violation; the firmware is reset, so the memory is freed
            assertEquals(AgxDevice.State.CRASHED, t.gpu.state());
            assertTrue(t.gpu.failure().orElseThrow().contains(
                    "device control channel: the firmware's read pointer moved from 0 to 3"),
                    t.gpu.failure().orElseThrow());
            t.assertNoJobResourcesLeft();
        }
    }

    /** Makes the firmware write {@code value} as a transmit ring's read pointer, and waits until it did. */
    private static void corruptReadPointer(TestBed t, int channel, int value) {
        t.firmware.corruptTransmitReadPointer(channel, value);
        TestBed.await("the firmware to write the read pointer", t.firmware::injectionsDone);
    }

    @Test
    void eventsTheFirmwareCannotPostOnlyDelayCompletions() throws Exception {
        AgxOptions options = AgxOptions.builder().watchdogPeriod(Duration.ofMillis(10)).build();
        try (TestBed t = TestBed.threaded(options)) {
            GpuBuffer b = t.gpu.allocate(4096);
            // The driver consumes message 0 (all zeros) and sets its read pointer to 1; the firmware's own write
            // pointer is still 0, so to the firmware the event ring now looks full for good.
            t.firmware.corruptEventWritePointer(1);
            TestBed.await("the bogus message to be handled", () -> t.gpu.stats().protocolErrors() == 1);
            for (int i = 1; i <= 3; i++) {
                TestBed.awaitOk(t.gpu.submit(ComputeJob.fill(b, i))); // the watchdog reads the stamps
                assertEquals(i, b.readInts(0, 1)[0]);
            }
            assertEquals(AgxDevice.State.LIVE, t.gpu.state());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void theInjectionHooksRefuseArgumentsTheyCannotCarryOut() {
        try (TestBed t = TestBed.threaded()) {
            IllegalArgumentException shortEvent = assertThrows(IllegalArgumentException.class,
                    () -> t.firmware.postRawEvent(new byte[63]));
            assertEquals("an event message is 64 bytes, not 63", shortEvent.getMessage());
            IllegalArgumentException channel = assertThrows(IllegalArgumentException.class,
                    () -> t.firmware.corruptTransmitReadPointer(2, 0));
            assertEquals("transmit channel 2 is neither 0 (device control) nor 1 (pipe)", channel.getMessage());
            IllegalArgumentException slot = assertThrows(IllegalArgumentException.class,
                    () -> t.firmware.writeStamp(128, 1));
            assertEquals("stamp slot 128 is not 0..127", slot.getMessage());
            assertTrue(t.firmware.injectionsDone(), "nothing was queued");
            assertEquals(AgxDevice.State.LIVE, t.gpu.state());
        }
    }

    /** Job.result(): every status the firmware may leave in a result block maps to the job's own failure. */
    @Test
    void aGarbledResultBlockFailsOnlyItsJob() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer b = t.gpu.allocate(4096);

            GpuException invalid = failWithResult(t, b, CommandLayout.STATUS_INVALID, 0, 0);
            assertEquals(GpuException.class, invalid.getClass());
            assertTrue(invalid.getMessage().contains("the firmware rejected the command as invalid"),
                    invalid.getMessage());

            GpuException unknown = failWithResult(t, b, 0x7eadbeef, -1, -1);
            assertEquals(GpuException.class, unknown.getClass());
            assertTrue(unknown.getMessage().contains("left result status 0x7eadbeef (not a known status)"),
                    unknown.getMessage());

            GpuException pending = failWithResult(t, b, CommandLayout.STATUS_PENDING, 0, 0);
            assertTrue(pending.getMessage().contains("left result status 0x0 (not a known status)"),
                    pending.getMessage());

            GpuFaultException fault = assertInstanceOf(GpuFaultException.class, failWithResult(t, b,
                    CommandLayout.STATUS_FAULT, CommandLayout.FAULT_WRITE | CommandLayout.FAULT_IOMMU, -8L));
            assertEquals(-8L, fault.faultAddress(), "the address is reported as the firmware wrote it");
            assertTrue(fault.isWrite());
            assertEquals(GpuFaultException.Kind.IOMMU, fault.kind());

            GpuTimeoutException timeout = assertInstanceOf(GpuTimeoutException.class,
                    failWithResult(t, b, CommandLayout.STATUS_TIMEOUT, 0, 0));
            assertEquals(t.gpu.options().jobTimeout(), timeout.timeout());

            TestBed.awaitOk(t.gpu.submit(ComputeJob.fill(b, 5)));
            assertEquals(5, b.readInts(0, 1)[0], "the next job's result is read from its own block");
            assertEquals(AgxDevice.State.LIVE, t.gpu.state(), "a garbled result fails the job, not the device");
            assertEquals(5, t.gpu.stats().failed());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    /** Submits a fill whose result block the firmware replaces; {@return the failure of that job} */
    private static GpuException failWithResult(TestBed t, GpuBuffer b, int status, int flags, long address) {
        t.firmware.corruptNextResult(status, flags, address);
        Fence f = t.gpu.submit(ComputeJob.fill(b, 1));
        GpuException e = assertThrows(GpuException.class, () -> f.await(TestBed.WAIT));
        assertEquals(f.jobId(), e.jobId(), "the failure names the job");
        return e;
    }
}
