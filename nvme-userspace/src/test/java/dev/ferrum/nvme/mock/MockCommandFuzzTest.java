package dev.ferrum.nvme.mock;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.ferrum.nvme.mock.NvmeTestHost.LE_INT;
import static dev.ferrum.nvme.mock.NvmeTestHost.LE_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the mock controller's command decoder and execution: fuzzed 64-byte submission entries, on the admin
 * queue and an I/O queue, through a stepped {@link MockNvmeController}. The model must never throw out of
 * {@code process()} (a stepped model's {@code step()} would rethrow it), may touch host memory only through its
 * mock IOMMU (which refuses and records every access outside a live mapping), must not write into mapped memory
 * that no command named (a canary page mapped right after the data buffer), and must stay usable: after the
 * garbage, a disable/enable cycle brings it back and a plain read succeeds.
 *
 * <p>Half of the pointer fields are replaced by addresses inside a real data buffer, so that fuzzing gets past the
 * IOMMU into data transfer, PRP lists and DSM ranges.
 */
class MockCommandFuzzTest {
    private static final int DATA_PAGES = 4;

    @FuzzTest(maxDuration = "30s")
    void commands(FuzzedDataProvider data) {
        try (NvmeTestHost h = NvmeTestHost.enabled(MockNvmeController.Config.builder().namespace(1024, 512)
                .maxIoQueuePairs(2).mdts(2).build())) {
            Queue io = h.createIoQueues(1, 8, -1);
            DmaBuffer buffer = h.pool.allocate(DATA_PAGES * 4096L);
            // Mapped right after the data buffer (IOVAs are handed out in order) and named by no command: an
            // overrun past the end of a transfer or a PRP list lands here.
            DmaBuffer canary = h.pool.allocate(4096);
            canary.segment().fill((byte) 0xc5);
            int commands = data.consumeInt(1, 12);
            for (int i = 0; i < commands && data.remainingBytes() > 0; i++) {
                Queue q = data.consumeBoolean() ? h.admin : io;
                MemorySegment e = q.sq.segment().asSlice(64L * q.sqTail, 64);
                byte[] raw = data.consumeBytes(64);
                e.fill((byte) 0);
                MemorySegment.copy(MemorySegment.ofArray(raw), 0, e, 0, raw.length);
                if (data.consumeBoolean()) {
                    e.set(ValueLayout.JAVA_BYTE, 1, (byte) 0); // PSDT = PRP, no fused operation
                    e.set(LE_INT, 4, data.consumeInt(0, 3)); // NSID 0..3 (1 exists)
                    e.set(LE_LONG, 24, pointer(data, buffer));
                    e.set(LE_LONG, 32, pointer(data, buffer));
                    e.set(LE_INT, 40, data.consumeInt(0, 2048)); // SLBA low / CNS / FID ...
                    e.set(LE_INT, 44, data.consumeInt(0, 2));
                    e.set(LE_INT, 48, data.consumeInt(0, 0xffff) | data.consumeInt(0, 0xff) << 24);
                }
                q.sqTail = (q.sqTail + 1) % q.entries;
                q.ring();
                h.ctrl.stepUntilIdle(10_000);
                while (q.poll() != null) {
                    // consumed: the status is whatever the command earned
                }
                q.release();
                h.ctrl.stepUntilIdle(10_000);
            }
            buffer.segment(); // still alive, still ours
            assertEquals(-1, canary.segment().mismatch(MemorySegment.ofArray(new byte[4096]).fill((byte) 0xc5)),
                    "the controller wrote into memory no command named");
            recovers(h);
        }
    }

    /** An address inside the data buffer (dword aligned or not), or a fuzzed one. */
    private static long pointer(FuzzedDataProvider data, DmaBuffer buffer) {
        return switch (data.consumeInt(0, 3)) {
            case 0 -> data.consumeLong();
            case 1 -> buffer.deviceAddress() + data.consumeInt(0, DATA_PAGES * 4096 - 1);
            default -> buffer.deviceAddress() + 4096L * data.consumeInt(0, DATA_PAGES - 1);
        };
    }

    /** Whatever happened, a reset brings the controller back and it serves a valid command. */
    private static void recovers(NvmeTestHost h) {
        h.disable();
        h.enable(8);
        DmaBuffer b = h.pool.allocate(4096);
        var c = h.createIoQueues(1, 4, -1).run(Sqe.rw(0x02, 1, 0, 1, b.deviceAddress(), 0));
        c.assertOk("read after the fuzzed commands and a reset");
        assertTrue(h.csts() == 1, "ready, not fatal: CSTS 0x" + Integer.toHexString(h.csts()));
    }
}
