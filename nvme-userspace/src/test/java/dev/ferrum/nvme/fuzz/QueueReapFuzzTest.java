package dev.ferrum.nvme.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferrum.memory.Mmio;
import dev.ferrum.nvme.internal.Cqe;
import dev.ferrum.nvme.internal.NvmeRegs;
import dev.ferrum.nvme.internal.Queue;
import dev.ferrum.nvme.internal.Request;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes completion processing ({@link Queue#reap}): the device writes whatever it likes into the completion ring
 * (command IDs, SQ head and ID, phase and status), between rounds of submissions, and the driver must
 * <ul>
 *   <li>throw nothing: a bad entry is reported through {@link Queue.Sink#deviceFault} and stops reaping;</li>
 *   <li>complete only commands that are outstanding, each exactly once per submission, and only through an entry
 *       that names the command ID exactly as submitted;</li>
 *   <li>never let a stale entry (written before the command was submitted) that repeats the command ID of an
 *       earlier, completed command in the same slot complete the command that reused the slot;</li>
 *   <li>never report more completions than asked for, and write only in-range CQ head doorbells.</li>
 * </ul>
 * Each round writes completion entries first, then submits, then reaps, so an entry's round tells whether it was
 * written before or after a command's submission. Plausible entries reuse the command IDs issued so far, old ones
 * included: that is how a duplicate or stale completion looks. After a device fault the harness does what
 * {@code IoQueuePair} does after the reset it asks for: rewinds the rings and resubmits every outstanding command.
 */
class QueueReapFuzzTest {
    private static final MemorySegment REGS = Arena.global().allocate(0x2000, 4096);
    private static final Mmio MMIO = Mmio.of(REGS, "fuzz NVMe registers");

    @FuzzTest(maxDuration = "30s")
    void reap(FuzzedDataProvider data) {
        int entries = data.consumeInt(2, 64);
        int qid = data.consumeInt(0, 3);
        Queue q = new Queue(qid, entries, FuzzMemory.POOL, MMIO, 0);
        try {
            new Round(q, FuzzMemory.SPACE.at(q.cqAddress())).run(data);
        } finally {
            q.release();
        }
    }

    /** One queue's life under fuzzed completions. */
    private static final class Round implements Queue.Sink {
        private final Queue q;
        private final MemorySegment cq;
        /** Submissions per command ID not yet completed (0 or 1). */
        private final int[] pending;
        private final long cqDoorbell;
        /** The round each ring entry was written in (-1: not since the last reset). */
        private final int[] writtenRound;
        /** The round each slot's current command was submitted in. */
        private final int[] submittedRound;
        /** Command IDs of each slot's completed commands. */
        private final List<java.util.Set<Integer>> completedIds = new ArrayList<>();
        /** Every command ID issued so far: what plausible entries name. */
        private final List<Integer> issued = new ArrayList<>();
        private int round;
        /** The harness's own idea of the CQ head: the entry the next completion comes from. */
        private int head;
        private int completedThisReap;
        private boolean faulted;

        Round(Queue q, MemorySegment cq) {
            this.q = q;
            this.cq = cq;
            this.pending = new int[q.capacity()];
            this.cqDoorbell = NvmeRegs.cqHeadDoorbell(q.qid, 0);
            this.writtenRound = new int[q.entries];
            this.submittedRound = new int[q.capacity()];
            java.util.Arrays.fill(writtenRound, -1);
            for (int i = 0; i < q.capacity(); i++) {
                completedIds.add(new java.util.HashSet<>());
            }
        }

        void run(FuzzedDataProvider data) {
            int rounds = data.consumeInt(1, 8);
            for (round = 0; round < rounds && data.remainingBytes() > 0; round++) {
                writeCompletions(data);
                submit(data.consumeInt(0, q.capacity() - q.outstanding()));
                int max = data.consumeInt(0, 2 * q.entries);
                completedThisReap = 0;
                faulted = false;
                int n = q.reap(this, max);
                assertEquals(completedThisReap, n, "reap's count is the completions it delivered");
                assertTrue(n <= max, "reap completed " + n + " > max " + max);
                if (n > 0) {
                    int head = REGS.get(ValueLayout.JAVA_INT, cqDoorbell);
                    assertTrue(head >= 0 && head < q.entries, "CQ head doorbell " + head + " out of range");
                }
                if (faulted) {
                    recover();
                }
                int outstanding = 0;
                for (int p : pending) {
                    outstanding += p;
                }
                assertEquals(outstanding, q.outstanding(), "the queue's outstanding count matches the model");
            }
        }

        private void submit(int count) {
            for (int i = 0; i < count; i++) {
                Request r = q.allocate();
                assertNotNull(r, "a slot is free");
                assertEquals(0, pending[r.cid], "allocated a slot that is outstanding: cid " + r.cid);
                pending[r.cid] = 1;
                submittedRound[r.cid] = round;
                issued.add(r.commandId);
                r.command(1, 1, 0x2000_0000L, 0, r.cid, 0, 0, 0, 0, 0);
                q.submit(r);
            }
            q.ringDoorbell();
        }

        /** Either raw bytes over part of the ring, or plausible entries with fuzzed fields. */
        private void writeCompletions(FuzzedDataProvider data) {
            int count = data.consumeInt(0, q.entries);
            int start = data.consumeInt(0, q.entries - 1);
            boolean raw = data.consumeBoolean();
            for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
                int pos = (start + i) % q.entries;
                long base = (long) pos * Cqe.SIZE;
                writtenRound[pos] = round;
                if (raw) {
                    byte[] b = data.consumeBytes((int) Cqe.SIZE);
                    MemorySegment.copy(MemorySegment.ofArray(b), 0, cq, base, b.length);
                    continue;
                }
                int cid = data.consumeBoolean() && !issued.isEmpty() ? data.pickValue(issued)
                        : data.consumeBoolean() ? data.consumeInt(0, q.capacity() - 1) : data.consumeInt();
                int sqHead = data.consumeBoolean() ? data.consumeInt(0, q.entries - 1) : data.consumeInt(0, 0xffff);
                int sqId = data.consumeBoolean() ? q.qid : data.consumeInt(0, 0xffff);
                int status = data.consumeInt(0, 0xffff);
                cq.set(ValueLayout.JAVA_INT, base, data.consumeInt());
                cq.set(ValueLayout.JAVA_INT, base + 8, sqId << 16 | sqHead);
                cq.set(ValueLayout.JAVA_INT, base + 12, status << 16 | (cid & 0xffff));
            }
        }

        @Override
        public void completed(Request r, int dw0, int status) {
            assertFalse(faulted, "a completion after a device fault in the same reap");
            assertTrue(r.cid >= 0 && r.cid < pending.length, "cid " + r.cid);
            assertEquals(1, pending[r.cid], "completion of command " + r.cid + ", which is not outstanding");
            assertTrue(r.state != Request.FREE, "reap delivered a free slot");
            assertEquals(0, status & 1, "the phase bit is not part of the status");
            int named = cq.get(ValueLayout.JAVA_INT, (long) head * Cqe.SIZE + 12) & 0xffff;
            assertEquals(r.commandId, named, "the entry completing command " + r.cid + " names command ID " + named);
            if (writtenRound[head] >= 0 && writtenRound[head] <= submittedRound[r.cid]) {
                assertFalse(completedIds.get(r.cid).contains(named), "an entry written before command ID " + named
                        + " was submitted, repeating an earlier completed command's ID, completed it");
            }
            completedIds.get(r.cid).add(r.commandId);
            head = (head + 1) % q.entries;
            pending[r.cid] = 0;
            completedThisReap++;
            q.free(r);
        }

        @Override
        public void deviceFault(String what) {
            assertFalse(faulted, "two device faults in one reap (reaping must stop at the first)");
            assertTrue(what != null && !what.isBlank(), "a device fault names the problem");
            faulted = true;
        }

        /** What the driver does after the reset a device fault requested: fresh rings, outstanding resubmitted. */
        private void recover() {
            List<Request> outstanding = new ArrayList<>();
            for (int cid = 0; cid < pending.length; cid++) {
                if (pending[cid] == 1) {
                    outstanding.add(q.slot(cid));
                }
            }
            q.resetRings();
            java.util.Arrays.fill(writtenRound, -1);
            head = 0;
            for (Request r : outstanding) {
                q.submit(r);
            }
            q.ringDoorbell();
        }
    }
}
