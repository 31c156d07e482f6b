package dev.ferrum.bench;

import dev.ferrum.bench.internal.NullDevice;
import dev.ferrum.bench.internal.RawQueue;
import dev.ferrum.nvme.IoCallback;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The NVMe benchmark loop does real work: every I/O submitted through the safe and the raw queue is completed by the
 * null device and reaches its callback once, stepped and threaded; both drivers write the same submission entry;
 * and the raw queue and the device refuse what the driver's queue refuses.
 */
class NvmeLoopTest {

    @Test
    void steppedLoopCompletesEveryIoOnBothDrivers() {
        for (NvmeRig.Driver driver : NvmeRig.Driver.values()) {
            try (NvmeRig rig = new NvmeRig(driver)) {
                for (int i = 0; i < 1000; i++) {
                    assertEquals(1, IoRig.oneIo(rig), "I/O " + i + " (" + driver + ")");
                }
                assertEquals(1000, rig.callback.completed);
                assertEquals(0, rig.callback.lastStatus);
                assertEquals(1000, rig.device.completed());
                assertEquals(0, rig.outstanding());
            }
        }
    }

    @Test
    void threadedDeviceKeepsQueueDepthAndCompletesEverything() {
        for (NvmeRig.Driver driver : NvmeRig.Driver.values()) {
            try (NvmeRig rig = new NvmeRig(driver)) {
                rig.device.startThread("test-null-nvme");
                for (int i = 0; i < 16; i++) {
                    rig.submit();
                }
                for (int i = 0; i < 5000; i++) {
                    IoRig.completeAndResubmit(rig);
                    assertEquals(16, rig.outstanding(), "queue depth after operation " + i);
                }
                rig.drain();
                assertEquals(5016, rig.callback.completed);
                rig.device.stopThread();
                assertEquals(5016, rig.device.completed());
            }
        }
    }

    @Test
    void driverAndRawHostCompleteEveryIoOnTheMockController() {
        for (boolean raw : new boolean[] {false, true}) {
            try (MockNvmeRig rig = new MockNvmeRig(true, raw, !raw)) {
                for (int i = 0; i < 500; i++) {
                    assertEquals(1, IoRig.oneIo(rig), "I/O " + i + " (raw=" + raw + ")");
                }
                assertEquals(500, rig.callback.completed);
                assertEquals(0, rig.callback.lastStatus, "null-mode Reads succeed");
                assertEquals(500, rig.mock.ioCommandsCompleted(0x02), "the controller executed each Read");
            }
            try (MockNvmeRig rig = new MockNvmeRig(false, raw, true)) {
                for (int i = 0; i < 16; i++) {
                    rig.submit();
                }
                for (int i = 0; i < 2000; i++) {
                    assertEquals(1, IoRig.completeAndResubmit(rig));
                }
                assertEquals(2000, rig.callback.completed, "raw=" + raw);
            }
        }
    }

    @Test
    void safeAndRawDriversWriteTheSameSubmissionEntry() {
        try (NvmeRig safe = new NvmeRig(NvmeRig.Driver.SAFE); NvmeRig raw = new NvmeRig(NvmeRig.Driver.RAW)) {
            safe.submit();
            raw.submit();
            // SAFETY: the rings are live until the rigs close; 64 bytes is one entry.
            MemorySegment s = MemorySegment.ofAddress(safe.sqAddress()).reinterpret(64);
            MemorySegment r = MemorySegment.ofAddress(raw.sqAddress()).reinterpret(64);
            assertEquals(0x02, s.get(ValueLayout.JAVA_INT, 0) & 0xff, "opcode Read");
            assertEquals(1, s.get(ValueLayout.JAVA_INT, 4), "NSID");
            assertEquals(safe.dataAddress, s.get(ValueLayout.JAVA_LONG, 24), "PRP1 is the data buffer");
            assertEquals(0L, s.get(ValueLayout.JAVA_LONG, 32), "PRP2 unused for one aligned page");
            assertEquals(7, s.get(ValueLayout.JAVA_INT, 48), "NLB, 0's based");
            assertEquals(raw.dataAddress, r.get(ValueLayout.JAVA_LONG, 24));
            // Apart from the buffer address, byte for byte the same.
            byte[] sb = s.toArray(ValueLayout.JAVA_BYTE);
            byte[] rb = r.toArray(ValueLayout.JAVA_BYTE);
            for (int i = 24; i < 32; i++) {
                sb[i] = 0;
                rb[i] = 0;
            }
            assertArrayEquals(sb, rb);
            for (NvmeRig rig : new NvmeRig[] {safe, raw}) {
                rig.step();
                assertEquals(1, rig.complete(1), "completed before the rig closes (the safe one is pinned)");
            }
        }
    }

    /** A 4-entry queue pair's memory: rings and a register window with queue 1's doorbells. */
    private record Tiny(Arena arena, MemorySegment sq, MemorySegment cq, MemorySegment bar) implements AutoCloseable {
        static final long SQ_TAIL = 0x1008;
        static final long CQ_HEAD = 0x100c;

        static Tiny allocate() {
            Arena a = Arena.ofConfined();
            return new Tiny(a, a.allocate(4 * 64, 4096), a.allocate(4 * 16, 4096), a.allocate(0x2000, 4096));
        }

        RawQueue queue() {
            return new RawQueue(1, 4, sq.address(), cq.address(), 0, 0, bar.address() + SQ_TAIL,
                    bar.address() + CQ_HEAD);
        }

        NullDevice device() {
            return new NullDevice(sq.address(), cq.address(), bar.address() + SQ_TAIL, bar.address() + CQ_HEAD, 4, 1);
        }

        void doorbell(long offset, int value) {
            bar.set(ValueLayout.JAVA_INT, offset, value);
        }

        int phaseOf(int entry) {
            return cq.get(ValueLayout.JAVA_INT, entry * 16L + 12) >>> 16 & 1;
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    @Test
    void rawQueueRefusesACompletionForACommandThatIsNotOutstanding() {
        try (Tiny t = Tiny.allocate()) {
            RawQueue q = t.queue();
            t.cq().set(ValueLayout.JAVA_INT, 8, 1 << 16);           // SQ head 0, SQ ID 1
            t.cq().set(ValueLayout.JAVA_INT, 12, 2 | 1 << 16);      // command ID 2, phase 1: new, never submitted
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> q.processCompletions(1));
            assertTrue(e.getMessage().contains("command ID 2"), e.getMessage());
        }
    }

    @Test
    void nullDeviceRefusesATailDoorbellOutsideTheQueue() {
        try (Tiny t = Tiny.allocate()) {
            NullDevice d = t.device();
            t.doorbell(Tiny.SQ_TAIL, 9);
            IllegalStateException e = assertThrows(IllegalStateException.class, d::step);
            assertTrue(e.getMessage().contains("9"), e.getMessage());
        }
    }

    @Test
    void nullDeviceStopsWhenTheCompletionQueueIsFull() {
        try (Tiny t = Tiny.allocate()) {
            NullDevice d = t.device();
            t.doorbell(Tiny.SQ_TAIL, 3);
            assertEquals(3, d.step(), "three new entries, three free CQ slots");
            t.doorbell(Tiny.SQ_TAIL, 0);        // one more entry; the driver reaped nothing
            assertEquals(0, d.step(), "a full CQ takes no completion");
            t.doorbell(Tiny.CQ_HEAD, 1);        // the driver consumed one
            assertEquals(1, d.step(), "the last CQ slot");
            assertEquals(1, t.phaseOf(3), "still phase 1");
            t.doorbell(Tiny.SQ_TAIL, 1);        // one more entry
            t.doorbell(Tiny.CQ_HEAD, 2);        // and room for it
            assertEquals(1, d.step());
            assertEquals(0, t.phaseOf(0), "the wrapped entry has phase 0");
        }
    }

    @Test
    void aQueueOfFourEntriesHoldsThreeCommands() {
        try (Tiny t = Tiny.allocate()) {
            RawQueue q = t.queue();
            IoCallback cb = (tag, status) -> { };
            for (int i = 0; i < 3; i++) {
                q.read(i, 1, 512, 0x10000, cb, i);
            }
            assertThrows(IllegalStateException.class, () -> q.read(3, 1, 512, 0x10000, cb, 3));
            assertEquals(3, q.outstanding());
        }
    }
}
