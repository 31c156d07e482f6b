package dev.ferrum.agx;

import dev.ferrum.agx.firmware.AgxFirmware;
import dev.ferrum.agx.internal.fw.Regs;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaPool;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end, threaded: GPU faults, timeouts and firmware crashes surface as clear errors; nobody hangs. */
class FailureTest {

    @Test
    void aPageFaultNamesTheAddressAndLaterJobsStillWork() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            long unmapped = 0x7_0000_0000L;
            GpuFaultException e = assertThrows(GpuFaultException.class,
                    () -> t.gpu.submit(ComputeJob.fillAt(unmapped + 8, 64, 1)).await(TestBed.WAIT));
            assertEquals(unmapped + 8, e.faultAddress());
            assertTrue(e.isWrite());
            assertEquals(GpuFaultException.Kind.UNMAPPED, e.kind());
            assertTrue(e.getMessage().contains("GPU VA 0x700000008"), e.getMessage());
            assertEquals(1, t.gpu.stats().faults());

            GpuBuffer b = t.gpu.allocate(4096);
            TestBed.awaitOk(t.gpu.submit(ComputeJob.fill(b, 99)));
            assertEquals(99, b.readInts(4092, 1)[0], "the GPU still works after the fault");
            assertEquals(AgxDevice.State.LIVE, t.gpu.state());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void anOverrunFaultsAtTheGuardPageAfterWritingWhatItCould() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer src = t.gpu.allocate(4096);
            GpuBuffer dst = t.gpu.allocate(4096);
            src.write(0, new int[1024]);
            src.write(4096 - 16, new int[] {1, 2, 3, 4});
            Fence f = t.gpu.submit(ComputeJob.copyAt(src.gpuAddress() + 4096 - 16, dst.gpuAddress(), 64));
            GpuFaultException e = assertThrows(GpuFaultException.class, () -> f.await(TestBed.WAIT));
            assertEquals(src.gpuAddress() + 4096, e.faultAddress(), "the first byte of the guard page");
            assertFalse(e.isWrite());
            assertEquals(1, dst.readInts(0, 4)[0], "the part before the fault was copied");
            assertEquals(4, dst.readInts(0, 4)[3]);
            assertEquals(0, dst.readInts(16, 1)[0], "nothing after it");
            src.close();
            dst.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void aWriteToAReadOnlyBufferIsAPermissionFault() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer ro = t.gpu.allocate(8192, GpuBuffer.Access.READ_ONLY);
            GpuFaultException e = assertThrows(GpuFaultException.class,
                    () -> t.gpu.submit(ComputeJob.fillAt(ro.gpuAddress() + 4096, 16, 7)).await(TestBed.WAIT));
            assertEquals(GpuFaultException.Kind.PERMISSION, e.kind());
            assertEquals(ro.gpuAddress() + 4096, e.faultAddress());
            assertTrue(e.isWrite());
            assertEquals(0, ro.readInts(4096, 1)[0]);
            ro.close();
        }
    }

    @Test
    void aHungJobTimesOutTheWaiterWakesAndTheQueueGoesOn() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            ComputeQueue q = t.gpu.createQueue();
            GpuBuffer b = t.gpu.allocate(4096);
            t.firmware.hangNextJobs(1);
            Fence hung = q.submit(ComputeJob.fill(b, 0, 4, 1).withTimeout(Duration.ofMillis(200)));
            Fence next = q.submit(ComputeJob.fill(b, 4, 4, 2));
            AtomicReference<Throwable> waiter = new AtomicReference<>();
            Thread w = Thread.ofPlatform().name("agx-waiter").start(() -> {
                try {
                    hung.await(Duration.ofMinutes(5));
                } catch (Throwable e) {
                    waiter.set(e);
                }
            });
            w.join(TestBed.WAIT.toMillis());
            assertFalse(w.isAlive(), "the waiter woke");
            GpuTimeoutException e = assertInstanceOf(GpuTimeoutException.class, waiter.get());
            assertEquals(Duration.ofMillis(200), e.timeout());
            assertEquals(hung.jobId(), e.jobId());
            assertTrue(e.getMessage().contains("timed out"), e.getMessage());
            TestBed.awaitOk(next);
            assertEquals(0, b.readInts(0, 1)[0], "the hung job wrote nothing");
            assertEquals(2, b.readInts(4, 1)[0], "the job behind it ran");
            assertEquals(1, t.gpu.stats().timeouts());
            assertEquals(AgxDevice.State.LIVE, t.gpu.state());
            b.close();
            q.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void aFirmwareCrashFailsEveryPendingJobAndRefusesNewWork() throws Exception {
        try (TestBed t = TestBed.threaded()) {
            GpuBuffer b = t.gpu.allocate(4096);
            ComputeQueue q2 = t.gpu.createQueue();
            t.firmware.pause();
            List<Fence> pending = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                pending.add((i % 2 == 0 ? t.gpu.defaultQueue() : q2).submit(ComputeJob.fill(b, 4L * i, 4, i + 1)));
            }
            PreparedJob notRun = q2.prepare(ComputeJob.fill(b, 1));
            AtomicReference<Throwable> waiter = new AtomicReference<>();
            Thread w = Thread.ofPlatform().name("agx-waiter").start(() -> {
                try {
                    pending.getFirst().await(Duration.ofMinutes(5));
                } catch (Throwable e) {
                    waiter.set(e);
                }
            });
            t.firmware.crash();
            for (Fence f : pending) {
                FirmwareCrashedException e = assertThrows(FirmwareCrashedException.class, () -> f.await(TestBed.WAIT));
                assertEquals(Regs.CRASH_INJECTED, e.crashCode());
                assertEquals(f.jobId(), e.jobId());
                assertTrue(e.getMessage().contains("firmware crashed"), e.getMessage());
            }
            w.join(TestBed.WAIT.toMillis());
            assertInstanceOf(FirmwareCrashedException.class, waiter.get(), "the blocked waiter woke with the error");
            assertEquals(AgxDevice.State.CRASHED, t.gpu.state());
            assertTrue(t.gpu.failure().orElseThrow().contains("injected crash"), t.gpu.failure().orElseThrow());

            FirmwareCrashedException refused = assertThrows(FirmwareCrashedException.class,
                    () -> t.gpu.submit(ComputeJob.fill(b, 1)));
            assertTrue(refused.getMessage().contains("refuses new work"), refused.getMessage());
            assertThrows(FirmwareCrashedException.class, () -> t.gpu.allocate(4096));
            assertThrows(FirmwareCrashedException.class, notRun::run, "a prepared job cannot run any more");
            assertEquals(0, b.activeJobs(), "every job let go of the buffer");
            b.close(); // no TLB invalidation needed: the firmware was reset
            q2.close();
            assertEquals(10, t.gpu.stats().failed());
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void aSilentFirmwareIsDeclaredDeadByTheWatchdog() throws Exception {
        AgxOptions options = AgxOptions.builder().watchdogPeriod(Duration.ofMillis(20))
                .firmwareGrace(Duration.ofMillis(200)).build();
        try (TestBed t = TestBed.threaded(options)) {
            GpuBuffer b = t.gpu.allocate(4096);
            t.firmware.pause(); // neither completes nor times out anything
            Fence f = t.gpu.submit(ComputeJob.fill(b, 1).withTimeout(Duration.ofMillis(100)));
            FirmwareCrashedException e = assertThrows(FirmwareCrashedException.class, () -> f.await(TestBed.WAIT));
            assertEquals(FirmwareCrashedException.DETECTED_BY_DRIVER, e.crashCode());
            assertTrue(e.getMessage().contains("stopped responding"), e.getMessage());
            assertEquals(AgxDevice.State.CRASHED, t.gpu.state());
            b.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void lostInterruptsOnlyDelayCompletions() throws Exception {
        try (TestBed t = TestBed.threaded(AgxOptions.builder().watchdogPeriod(Duration.ofMillis(10)).build())) {
            GpuBuffer b = t.gpu.allocate(4096);
            t.mock.dropInterrupts(TestBed.ADDRESS, 1_000_000);
            for (int i = 0; i < 20; i++) {
                TestBed.awaitOk(t.gpu.submit(ComputeJob.fill(b, 4L * i, 4, i)));
            }
            assertEquals(19, b.readInts(76, 1)[0]);
            t.mock.dropInterrupts(TestBed.ADDRESS, 0);
            b.close();
        }
    }

    @Test
    void closingTheDeviceFailsJobsThatCannotFinishAndFreesEverything() throws Exception {
        AgxOptions options = AgxOptions.builder().closeTimeout(Duration.ofMillis(100)).build();
        TestBed t = TestBed.threaded(options);
        Fence f;
        try {
            GpuBuffer left = t.gpu.allocate(3 * 4096); // the user forgets to close it
            t.firmware.pause();
            f = t.gpu.submit(ComputeJob.fill(left, 1));
            assertEquals(1, left.activeJobs());
        } finally {
            t.close(); // asserts that no DMA buffer leaked and no device thread is left
        }
        GpuException e = assertThrows(GpuException.class, () -> f.await(TestBed.WAIT));
        assertFalse(e instanceof FirmwareCrashedException, e.toString());
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void aBufferWhoseTlbInvalidationIsNotAcknowledgedIsFreedWhenTheDeviceCloses() throws Exception {
        long before = DmaPool.liveBuffersGlobally();
        AgxFirmware firmware = new AgxFirmware();
        AgxDriver driver = new AgxDriver(AgxOptions.builder().commandTimeout(Duration.ofMillis(100)).build());
        try (PciBus bus = PciBus.open(new MockPciBus().add(TestBed.ADDRESS.toString(), firmware))) {
            bus.bind(driver, TestBed.ADDRESS); // not AgxDevice.open: closing the device must not unbind (and so
            AgxDevice gpu = driver.device(TestBed.ADDRESS).orElseThrow(); // close the pool) to be observable here
            GpuBuffer b = gpu.allocate(2 * 4096);
            int withBuffer = gpu.liveDmaBuffers(); // its memory and page tables
            firmware.pause();
            GpuException e = assertThrows(GpuException.class, b::close);
            assertTrue(e.getMessage().contains("did not acknowledge the TLB invalidation"), e.getMessage());
            assertEquals(withBuffer, gpu.liveDmaBuffers(), "the memory is kept: the GPU may still reach it");
            assertThrows(IllegalStateException.class, b::close, "the buffer is closed for its user");
            assertEquals(AgxDevice.State.LIVE, gpu.state());
            gpu.close();
            assertEquals(0, gpu.liveDmaBuffers(), "the device's close freed the buffer with everything else");
        }
        assertEquals(before, DmaPool.liveBuffersGlobally());
    }
}
