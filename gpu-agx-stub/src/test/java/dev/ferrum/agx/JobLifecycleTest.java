package dev.ferrum.agx;

import dev.ferrum.agx.internal.fw.ChannelLayout;
import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.DeviceControlMsg;
import dev.ferrum.agx.internal.fw.EventMsg;
import dev.ferrum.agx.internal.fw.InitDataLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.agx.internal.fw.PipeMsg;
import dev.ferrum.agx.internal.fw.Pte;
import dev.ferrum.agx.internal.fw.QueueLayout;
import dev.ferrum.agx.internal.fw.Regs;
import dev.ferrum.memory.Mmio;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stepped firmware: the commit, submit, run state machine, the rollback of jobs dropped before they run, and the
 * exact bytes of every structure the firmware reads and writes (read back by device address through the IOMMU).
 */
class JobLifecycleTest {

    private static int u32(MemorySegment s, long off) {
        return (int) Le.INT.get(s, off);
    }

    private static long u64(MemorySegment s, long off) {
        return (long) Le.LONG.get(s, off);
    }

    @Test
    void aPreparedJobDroppedBeforeItRunsGivesEverythingBack() throws Exception {
        try (TestBed t = TestBed.stepped(AgxOptions.defaults())) {
            ComputeQueue q = t.gpu.createQueue();
            GpuWorkQueue wq = q.queue();
            GpuBuffer b = t.gpu.allocate(4096);
            assertEquals(0, t.gpu.events().slotsInUse());
            assertEquals(-1, wq.eventSlot());

            PreparedJob p = q.prepare(ComputeJob.fill(b, 1));
            int slot = wq.eventSlot();
            assertTrue(slot >= 0, "the queue took an event slot");
            assertEquals(1, t.gpu.events().slotsInUse());
            assertEquals(1, b.activeJobs());
            assertEquals(1, b.memory().pinCount());
            assertEquals(1, wq.aliveJobs());
            long[] seq = wq.sequences(); // commit, submit, reserved, event value
            assertEquals(1, seq[0]);
            assertEquals(0, seq[1]);
            assertEquals(1, seq[2]);
            IllegalStateException inUse = assertThrows(IllegalStateException.class, b::close);
            assertTrue(inUse.getMessage().contains("1 submitted job(s) using it"), inUse.getMessage());

            p.close();
            assertEquals(-1, wq.eventSlot(), "the idle queue gave its slot back");
            assertEquals(0, t.gpu.events().slotsInUse());
            assertEquals(0, b.activeJobs());
            assertEquals(0, b.memory().pinCount());
            assertEquals(0, wq.aliveJobs());
            assertArrayEquals(new long[] {0, 0, 0, seq[3]}, wq.sequences());
            t.step();
            assertEquals(0, t.firmware.executedCommands(), "nothing reached the firmware");
            assertThrows(IllegalStateException.class, p::run, "a dropped job cannot run");

            // Stamp values stay consecutive when a job between two others is dropped.
            PreparedJob p1 = q.prepare(ComputeJob.fill(b, 0, 4, 11));
            PreparedJob p2 = q.prepare(ComputeJob.fill(b, 4, 4, 22));
            int base = (int) wq.sequences()[3];
            p1.close();
            Fence f = p2.run();
            assertEquals(base + 1, p2.job().stampValue);
            int slot2 = wq.eventSlot();
            t.step();
            TestBed.awaitOk(f);
            assertEquals(base + 1, t.gpu.events().stamp(slot2));
            assertArrayEquals(new int[] {0, 22}, b.readInts(0, 2), "only the job that ran wrote");
            assertEquals(0, t.firmware.executions(p1.jobId()));
            assertEquals(1, t.firmware.executions(p2.jobId()));
            t.whileStepping(b::close);
            q.close();
            t.assertNoJobResourcesLeft();
        }
    }

    @Test
    void aSubmissionClosedWithoutRunningRollsTheRingBack() throws Exception {
        try (TestBed t = TestBed.stepped(AgxOptions.defaults())) {
            ComputeQueue q = t.gpu.createQueue();
            GpuWorkQueue wq = q.queue();
            GpuBuffer b = t.gpu.allocate(4096);
            PreparedJob p = q.prepare(ComputeJob.fill(b, 7));
            Job j = p.job();
            long[] before = wq.sequences();
            MemorySegment info = t.view(wq.infoAddress(), QueueLayout.INFO.byteSize());
            MemorySegment ring = t.view(u64(info, QueueLayout.RING), 64 * QueueLayout.ENTRY_SIZE);
            try (GpuWorkQueue.Submission s = j.submit()) {
                assertEquals(Job.State.SUBMITTED, j.state);
                assertEquals(before[3] + 1, j.stampValue);
                assertEquals(j.cmd.deviceAddress(), u64(ring, 0), "the command is in the ring");
                assertEquals(0, u32(info, QueueLayout.CPU_WPTR), "but not published");
            }
            assertEquals(Job.State.COMMITTED, j.state);
            assertArrayEquals(before, wq.sequences());
            assertEquals(0, u32(info, QueueLayout.CPU_WPTR));

            Fence f = p.run();
            assertEquals(1, u32(info, QueueLayout.CPU_WPTR));
            assertEquals(before[3] + 1, j.stampValue, "the value the rolled-back submission had is reused");
            t.step();
            TestBed.awaitOk(f);
            assertEquals(7, b.readInts(0, 1)[0]);
            assertEquals(1, t.firmware.executions(j.id));
            t.whileStepping(b::close);
            q.close();
        }
    }

    @Test
    void theFirmwareSeesByteExactStructures() throws Exception {
        try (TestBed t = TestBed.stepped(AgxOptions.defaults())) {
            Mmio regs = t.registers();
            assertEquals(Regs.ID_VALUE, Regs.ID.read(regs));
            assertTrue(Regs.STATUS_READY.isSet(Regs.STATUS.read(regs)));
            MemorySegment init = t.view(Regs.INITDATA.read(regs), InitDataLayout.LAYOUT.byteSize());
            assertEquals(0x49584741, u32(init, 0x00));
            assertEquals(1, u32(init, 0x04));
            long ttbr = u64(init, 0x08);
            long pipeState = u64(init, 0x28);
            long pipeRing = u64(init, 0x30);
            assertEquals(256, u32(init, 0x38));
            assertEquals(64, u32(init, 0x3c));
            long eventState = u64(init, 0x40);
            long eventRing = u64(init, 0x48);
            long stamps = u64(init, 0x58);
            assertEquals(128, u32(init, 0x60));
            assertEquals(0, u32(init, 0x64));
            assertEquals(1, u32(init, 0x68));

            ComputeQueue q = t.gpu.createQueue();
            GpuWorkQueue wq = q.queue();
            GpuBuffer b = t.gpu.allocate(2 * 4096);
            Fence f = q.submit(ComputeJob.fill(b, 4, 8, 0xabcd));
            int slot = wq.eventSlot();

            // The pipe message.
            MemorySegment ps = t.view(pipeState, ChannelLayout.STATE.byteSize());
            assertEquals(1, u32(ps, 0x00), "pipe wptr");
            assertEquals(0, u32(ps, 0x40), "pipe rptr");
            MemorySegment msg = t.view(pipeRing, 64);
            assertEquals(PipeMsg.RUN_QUEUE, u32(msg, 0x00));
            assertEquals(slot, u32(msg, 0x04));
            assertEquals(wq.infoAddress(), u64(msg, 0x08));
            assertEquals(1, u32(msg, 0x10));
            assertEquals(q.id(), u32(msg, 0x14));
            assertEquals(PipeMsg.FLAG_NEW, u32(msg, 0x18));
            for (long o = 0x1c; o < 64; o += 4) {
                assertEquals(0, u32(msg, o), "pipe message byte 0x" + Long.toHexString(o));
            }
            // The queue and its command.
            MemorySegment info = t.view(wq.infoAddress(), 128);
            long ring = u64(info, 0x00);
            assertEquals(64, u32(info, 0x08));
            assertEquals(q.id(), u32(info, 0x0c));
            assertEquals(1, u32(info, 0x10));
            MemorySegment cmd = t.view(u64(t.view(ring, 8), 0), CommandLayout.SIZE);
            int value = u32(cmd, 0x10);
            assertEquals(CommandLayout.OP_FILL, u32(cmd, 0x00));
            assertEquals(slot, u32(cmd, 0x04));
            assertEquals(f.jobId(), u64(cmd, 0x08));
            assertEquals(t.gpu.events().stamp(slot) + 1, value);
            assertEquals(10_000, u32(cmd, 0x14));
            assertEquals(b.gpuAddress() + 4, u64(cmd, 0x20));
            assertEquals(8, u64(cmd, 0x28));
            assertEquals(0xabcd, u32(cmd, 0x30));
            assertEquals(CommandLayout.STATUS_PENDING, u32(cmd, 0x40));
            // The page table, walked by hand.
            long table = ttbr;
            for (int level = 0; level < 2; level++) {
                long e = u64(t.view(table + 8L * Pte.index(b.gpuAddress(), level), 8), 0);
                assertEquals(Pte.VALID | Pte.TYPE, e & ~Pte.ADDRESS_MASK, "table descriptor at level " + level);
                table = e & Pte.ADDRESS_MASK;
            }
            for (int page = 0; page < 2; page++) {
                long va = b.gpuAddress() + 4096L * page;
                assertEquals(b.memory().deviceAddress() + 4096L * page | Pte.VALID | Pte.TYPE,
                        u64(t.view(table + 8L * Pte.index(va, 2), 8), 0), "leaf of page " + page);
            }
            assertEquals(0, u64(t.view(table + 8L * Pte.index(b.gpuAddress() + 8192, 2), 8), 0), "guard page");
            assertEquals(0, t.firmware.executedCommands());

            t.step();
            assertEquals(1, u32(ps, 0x40), "the firmware consumed the pipe message");
            assertEquals(CommandLayout.STATUS_OK, u32(cmd, 0x40));
            assertEquals(1, u32(info, 0x40), "gpu_rptr");
            assertEquals(1, u32(info, 0x44), "gpu_doneptr");
            assertEquals(value, u32(t.view(stamps + 4L * slot, 4), 0), "the stamp advanced");
            MemorySegment es = t.view(eventState, ChannelLayout.STATE.byteSize());
            assertEquals(1, u32(es, 0x00), "one event posted");
            MemorySegment ev = t.view(eventRing, 64);
            assertEquals(EventMsg.FLAG, u32(ev, 0x00));
            for (int w = 0; w < 4; w++) {
                assertEquals(w == slot / 32 ? 1 << (slot % 32) : 0, u32(ev, 0x20 + 4L * w), "firing word " + w);
            }
            TestBed.awaitOk(f);
            assertArrayEquals(new int[] {0, 0xabcd, 0xabcd, 0}, b.readInts(0, 4));
            TestBed.await("the driver to consume the event", () -> u32(es, 0x40) == 1);
            assertEquals(1, u32(info, 0x48), "cpu_freeptr");
            t.whileStepping(b::close);
            q.close();
        }
    }

    @Test
    void oneFlagEventNamesEverySlotThatFired() throws Exception {
        try (TestBed t = TestBed.stepped(AgxOptions.defaults())) {
            ComputeQueue q1 = t.gpu.createQueue();
            ComputeQueue q2 = t.gpu.createQueue();
            GpuBuffer b = t.gpu.allocate(4096);
            Fence f1 = q1.submit(ComputeJob.fill(b, 0, 4, 1));
            Fence f2 = q2.submit(ComputeJob.fill(b, 4, 4, 2));
            int s1 = q1.queue().eventSlot();
            int s2 = q2.queue().eventSlot();
            assertNotEquals(s1, s2);
            MemorySegment init = t.view(Regs.INITDATA.read(t.registers()), InitDataLayout.LAYOUT.byteSize());
            t.step();
            MemorySegment ev = t.view(u64(init, InitDataLayout.EVENT_RING + ChannelLayout.DESC_RING), 64);
            assertEquals(EventMsg.FLAG, u32(ev, 0));
            int[] firing = new int[4];
            firing[s1 / 32] |= 1 << (s1 % 32);
            firing[s2 / 32] |= 1 << (s2 % 32);
            for (int w = 0; w < 4; w++) {
                assertEquals(firing[w], u32(ev, EventMsg.FIRING + 4L * w));
            }
            TestBed.awaitOk(f1);
            TestBed.awaitOk(f2);
            t.whileStepping(b::close);
            q1.close();
            q2.close();
        }
    }

    @Test
    void aBufferIsFreedOnlyAfterTheFirmwareAcknowledgedTheTlbInvalidation() throws Exception {
        try (TestBed t = TestBed.stepped(AgxOptions.defaults())) {
            GpuBuffer b = t.gpu.allocate(3 * 4096);
            Fence f = t.gpu.submit(ComputeJob.fill(b, 5));
            t.step();
            TestBed.awaitOk(f);
            assertTrue(t.firmware.isCachedTranslation(b.gpuAddress() + 4096), "the job's pages are in the TLB");
            MemorySegment init = t.view(Regs.INITDATA.read(t.registers()), InitDataLayout.LAYOUT.byteSize());
            MemorySegment state = t.view(u64(init, InitDataLayout.DEVCTL_RING + ChannelLayout.DESC_STATE),
                    ChannelLayout.STATE.byteSize());
            MemorySegment ring = t.view(u64(init, InitDataLayout.DEVCTL_RING + ChannelLayout.DESC_RING), 64);
            long va = b.gpuAddress();

            Thread closer = Thread.ofPlatform().name("agx-closer").start(b::close);
            TestBed.await("the invalidation to be sent", () -> u32(state, ChannelLayout.WPTR) == 1);
            assertEquals(DeviceControlMsg.TLB_INVALIDATE, u32(ring, 0x00));
            assertEquals(va, u64(ring, 0x08));
            assertEquals(3 * 4096, u64(ring, 0x10));
            assertTrue(closer.isAlive(), "close() waits for the acknowledgement");
            assertTrue(b.memory().isAlive(), "the memory is not freed before the firmware forgot the mapping");
            assertFalse(b.isOpen());

            TestBed.await("close() to return", () -> {
                t.firmware.step();
                return !closer.isAlive();
            });
            assertFalse(b.memory().isAlive());
            assertFalse(t.firmware.isCachedTranslation(va + 4096));
            assertArrayEquals(new long[] {va, 3 * 4096}, t.firmware.invalidations().getFirst());
            assertEquals(1, t.gpu.stats().tlbInvalidations());

            // The old address now faults, although the TLB once held it.
            Fence stale = t.gpu.submit(ComputeJob.fillAt(va + 4096, 4, 1));
            t.step();
            GpuFaultException e = assertThrows(GpuFaultException.class, () -> stale.await(TestBed.WAIT));
            assertEquals(va + 4096, e.faultAddress());
            t.assertNoJobResourcesLeft();
        }
    }

    /** A fence whose job the (stepped, so stalled) firmware has not run: await reports the timeout with false. */
    @Test
    void awaitReturnsFalseWhileTheFirmwareIsStalled() throws Exception {
        try (TestBed t = TestBed.stepped(AgxOptions.defaults())) {
            GpuBuffer b = t.gpu.allocate(4096);
            Fence f = t.gpu.submit(ComputeJob.fill(b, 9));
            assertFalse(f.await(Duration.ofMillis(50)), "the job cannot finish: nobody steps the firmware");
            assertFalse(f.await(Duration.ZERO), "a zero wait does not block and reports pending");
            assertFalse(f.isSignalled());
            assertTrue(f.error().isEmpty());
            assertEquals(0, b.readInts(0, 1)[0], "the firmware did not run it");
            t.step();
            assertTrue(f.await(Duration.ofMillis(50)), "the fence stays valid: waiting again after a timeout works");
            assertEquals(9, b.readInts(0, 1)[0]);
            t.whileStepping(b::close);
            t.assertNoJobResourcesLeft();
        }
    }
}
