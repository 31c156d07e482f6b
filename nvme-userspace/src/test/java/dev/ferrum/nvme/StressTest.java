package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.mock.CommandView;
import dev.ferrum.nvme.mock.CompletionCorruption;
import dev.ferrum.sys.nvme.Nvme;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stress with verification: {@value #THREADS} threads, each with {@value #PAIRS} owner-thread queue pairs, issue
 * random writes and reads of checksummed blocks while another thread injects faults (error statuses, dropped
 * commands that time out, slow completions, corrupt completion entries, controller fatal status, application
 * resets). At the end:
 * <ul>
 *   <li>every block holds, read both from the mock's medium and through the driver, what the model allows: the
 *       last acknowledged write, or one of the writes after it that failed or timed out (such a write leaves the
 *       block "either old or new": that is all an NVMe device promises);</li>
 *   <li>every command completed exactly once (callbacks are counted per thread and tag);</li>
 *   <li>no thread hung (every wait is bounded and fails with what it was waiting for).</li>
 * </ul>
 * Reads during the run are checked against the same model, and an acknowledged write must be on the medium when
 * its callback runs. Each thread owns its own LBA range and never has two
 * commands on one block at once, so the model needs no cross-thread ordering.
 *
 * <p>The controller ends live: a fault injected while a reset runs (fatal status while enabling, say) makes the
 * reset start over, and it gives up only after {@link NvmeController#RESET_ATTEMPTS} attempts. If the faults did
 * hit every attempt of one reset, the controller is failed for good, which a real device may also end in: the test
 * then demands exactly that reason, proof that the faults caused it (at least that many fatal statuses injected
 * while that reset ran: a reset that fails without them is a bug), every command still completed exactly once, and
 * every block on the medium as the model allows; only the final read through the (failed) driver is left out.
 *
 * <p>CI size: {@value #CI_SECONDS} s of traffic. {@code ./ferrum soak [minutes]} runs the same test longer
 * ({@code -Dferrum.stress.seconds}).
 */
class StressTest {
    static final int THREADS = 3;
    static final int PAIRS = 2;
    static final int CI_SECONDS = 8;
    /** Blocks per thread: small, so blocks are overwritten many times. */
    static final int REGION = 192;
    static final int MAX_BLOCKS = 4;
    static final int BLOCK = 512;
    static final long HANG_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED; // heap copies too
    private static final int WRITE = Nvme.NVME_CMD_WRITE();
    private static final int READ = Nvme.NVME_CMD_READ();

    @Test
    void randomTrafficUnderFaultsLosesNothingAndCompletesEverythingOnce() throws Exception {
        long seconds = Long.getLong("ferrum.stress.seconds", CI_SECONDS);
        long seed = Long.getLong("ferrum.stress.seed", System.nanoTime());
        var config = TestBed.config(BLOCK).maxIoQueuePairs(THREADS * PAIRS + 1).build();
        try (TestBed t = new TestBed(config, o -> o.ioQueues(THREADS * PAIRS + 1))) {
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            List<Worker> workers = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                Worker w = new Worker(t, i, seed + i, end, problems);
                workers.add(w);
                threads.add(Thread.ofPlatform().name("stress-" + i).start(w));
            }
            Faults faults = new Faults(t, seed, end, problems);
            Thread faultThread = Thread.ofPlatform().name("stress-faults").start(faults);
            for (Thread th : threads) {
                join(th, end, problems);
            }
            join(faultThread, end, problems);
            t.mock.clearFaultRules();
            boolean gaveUp = failedForGood(t);
            assertTrue(problems.isEmpty(), "seed " + seed + ": " + problems.size() + " problem(s):\n"
                    + String.join("\n", problems.stream().limit(20).toList()));

            long ops = 0;
            long failed = 0;
            for (Worker w : workers) {
                w.verifyExactlyOnce();
                w.verifyMedium();
                ops += w.submitted;
                failed += w.failed;
            }
            if (gaveUp) {
                // Legitimate only as the end of the bounded recovery (not, say, an invalid completion accepted)...
                assertTrue(t.ctrl.failureReason().startsWith("reset failed after " + NvmeController.RESET_ATTEMPTS
                        + " attempts"), "seed " + seed + ": " + t.ctrl.failureReason());
                // ...and only if the faults can account for every failed attempt: each takes a fatal status injected
                // while that reset ran (the next attempt's disable clears it, and admin commands get no other fault).
                // A reset that fails on its own after a fault would end here too, but without them.
                long lastReset = t.ctrl.resetCount();
                int fatals = faults.fatalsDuringReset.getOrDefault(lastReset, 0);
                assertTrue(fatals >= NvmeController.RESET_ATTEMPTS, "seed " + seed + ": reset #" + lastReset
                        + " gave up after " + NvmeController.RESET_ATTEMPTS + " attempts, but only " + fatals
                        + " fatal status(es) were injected while it ran: " + t.ctrl.failureReason());
                t.ctrl.close(); // disabled: the buffers of commands failed while it was failing are unpinned now
                for (Worker w : workers) {
                    w.closeKeptBuffer();
                }
            } else {
                try (IoQueuePair qp = t.ctrl.createQueuePair()) {
                    for (Worker w : workers) {
                        w.verifyThroughDriver(qp);
                    }
                }
            }
            // The checks can fail: a stale block (an older write of the same LBA, intact checksum) is caught.
            Worker w0 = workers.getFirst();
            MemorySegment stale = MemorySegment.ofArray(new byte[BLOCK]);
            encode(stale, w0.firstLba, (long) w0.id << 48 | 0xffff_ffffL, new SplittableRandom(1));
            t.mock.writeBlocks(1, w0.firstLba, stale.toArray(ValueLayout.JAVA_BYTE));
            AssertionError caught = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                    w0::verifyMedium);
            assertTrue(caught.getMessage().contains("holds write"), caught.getMessage());
            if (!gaveUp) {
                assertEquals(NvmeController.State.LIVE, t.ctrl.state(), t.ctrl.failureReason());
            }
            assertTrue(ops > 100, "seed " + seed + ": only " + ops + " commands in " + seconds + " s");
            assertTrue(t.ctrl.resetCount() > 0, "the faults caused resets");
            assertTrue(failed > 0, "the faults failed some commands");
            System.out.printf("stress: seed %d, %d s, %d commands (%d failed), %d resets, %d faults injected%s%n",
                    seed, seconds, ops, failed, t.ctrl.resetCount(), faults.injected.get(),
                    gaveUp ? "; the controller failed for good: " + t.ctrl.failureReason() : "");
        }
    }

    /** Whether the controller gave up: failed for good, as it may when faults hit every attempt of a reset. */
    static boolean failedForGood(TestBed t) {
        return t.ctrl.state() == NvmeController.State.FAILED;
    }

    /** Waits for {@code th} until the traffic's end plus the hang allowance; a thread still running then hung. */
    private static void join(Thread th, long end, ConcurrentLinkedQueue<String> problems) throws InterruptedException {
        th.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime() + 2 * HANG_NANOS)));
        if (th.isAlive()) {
            StringBuilder stack = new StringBuilder();
            for (StackTraceElement e : th.getStackTrace()) {
                stack.append("\n    at ").append(e);
            }
            problems.add(th.getName() + " hung:" + stack);
            throw new AssertionError(String.join("\n", problems));
        }
    }

    /** A block's content: LBA, write sequence, writer, filler, and a checksum of all that. */
    static void encode(MemorySegment block, long lba, long seq, SplittableRandom r) {
        block.set(LONG, 0, lba);
        block.set(LONG, 8, seq);
        for (long off = 16; off < BLOCK - 8; off += 8) {
            block.set(LONG, off, r.nextLong());
        }
        block.set(LONG, BLOCK - 8, checksum(block));
    }

    static long checksum(MemorySegment block) {
        long h = 0x9E3779B97F4A7C15L;
        for (long off = 0; off < BLOCK - 8; off += 8) {
            h = (h ^ block.get(LONG, off)) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }

    /** What a block may hold: the last acknowledged write (0: never written) and unacknowledged later ones. */
    static final class BlockModel {
        long acked;
        final Set<Long> maybe = new HashSet<>();

        String check(MemorySegment block, long lba) {
            long seq = block.get(LONG, 8);
            if (seq == 0 && block.get(LONG, 0) == 0 && checksumIsZeroBlock(block)) {
                return acked == 0 || maybe.contains(0L) ? null
                        : "LBA " + lba + " reads as never written, but write " + acked + " was acknowledged";
            }
            if (block.get(LONG, BLOCK - 8) != checksum(block)) {
                return "LBA " + lba + " fails its checksum (torn or corrupt block, seq field " + seq + ")";
            }
            if (block.get(LONG, 0) != lba) {
                return "LBA " + lba + " holds the block written for LBA " + block.get(LONG, 0);
            }
            if (seq != acked && !maybe.contains(seq)) {
                return "LBA " + lba + " holds write " + seq + "; allowed: acknowledged " + acked + ", unacknowledged "
                        + maybe;
            }
            return null;
        }

        private static boolean checksumIsZeroBlock(MemorySegment block) {
            for (long off = 0; off < BLOCK; off += 8) {
                if (block.get(LONG, off) != 0) {
                    return false;
                }
            }
            return true;
        }
    }

    /** One thread: its queue pairs, its LBA range, its model, its completion counts. */
    static final class Worker implements Runnable {
        final TestBed t;
        final int id;
        final long firstLba;
        final SplittableRandom random;
        final long end;
        final ConcurrentLinkedQueue<String> problems;
        final BlockModel[] model = new BlockModel[REGION];
        final boolean[] busy = new boolean[REGION];
        /** Callbacks per tag: must end at exactly 1 for every submitted tag. */
        final List<int[]> calls = new ArrayList<>();
        long submitted;
        long failed;
        long nextSeq;
        /** The slot buffer, if the controller failed for good while the device might still have held it. */
        DmaBuffer keptBuffer;

        Worker(TestBed t, int id, long seed, long end, ConcurrentLinkedQueue<String> problems) {
            this.t = t;
            this.id = id;
            this.firstLba = (long) id * REGION;
            this.random = new SplittableRandom(seed);
            this.end = end;
            this.problems = problems;
            for (int i = 0; i < REGION; i++) {
                model[i] = new BlockModel();
            }
        }

        /** One command in flight: its slot of the thread's buffer, blocks, kind and sequence. */
        final class Op implements IoCallback {
            final int slot;
            boolean write;
            int first;
            int blocks;
            long seq;
            DmaBuffer buffer;

            Op(int slot) {
                this.slot = slot;
            }

            @Override
            public void complete(long tag, int status) {
                int[] c = calls.get((int) tag);
                if (++c[0] > 1) {
                    problems.add("thread " + id + ": command " + tag + " completed " + c[0] + " times");
                    return;
                }
                done(this, status);
            }
        }

        private final ArrayList<Op> free = new ArrayList<>();

        @Override
        public void run() {
            List<IoQueuePair> pairs = new ArrayList<>();
            DmaBuffer buffer = null;
            int slots = 24;
            try {
                for (int i = 0; i < PAIRS; i++) {
                    pairs.add(t.ctrl.createQueuePair(QueuePairOptions.builder().depth(16).build()));
                }
                buffer = t.buffer((long) slots * MAX_BLOCKS * BLOCK);
                for (int i = 0; i < slots; i++) {
                    Op op = new Op(i);
                    op.buffer = buffer.slice((long) i * MAX_BLOCKS * BLOCK, (long) MAX_BLOCKS * BLOCK);
                    free.add(op);
                }
                long lastProgress = System.nanoTime();
                while (System.nanoTime() < end) {
                    int n = 0;
                    for (IoQueuePair qp : pairs) {
                        // A few completions at a time, as a bounded poller takes them, then new work on the same
                        // pair: a duplicate entry left in the ring then meets the command that reused its slot.
                        n += qp.processCompletions(1 + random.nextInt(4));
                        for (int k = random.nextInt(3); k > 0 && !free.isEmpty(); k--) {
                            if (qp.outstanding() < qp.capacity()) {
                                submitOne(qp);
                            }
                        }
                    }
                    long now = System.nanoTime();
                    if (n > 0 || free.size() == slots) {
                        lastProgress = now;
                    } else if (now - lastProgress > HANG_NANOS) {
                        problems.add("thread " + id + ": no completion for 30 s with " + (slots - free.size())
                                + " commands outstanding");
                        return;
                    }
                }
                drain(pairs, slots);
            } catch (ControllerFailedException e) {
                if (failedForGood(t)) {
                    drain(pairs, slots); // failed pairs complete what was outstanding, with an error
                } else {
                    problems.add("thread " + id + ": " + e);
                }
            } catch (RuntimeException | Error e) {
                problems.add("thread " + id + ": " + e);
            } finally {
                for (IoQueuePair p : pairs) {
                    try {
                        p.close();
                    } catch (RuntimeException e) {
                        problems.add("thread " + id + ": closing " + p + ": " + e);
                    }
                }
                if (buffer != null && buffer.pinCount() == 0) {
                    buffer.close();
                } else if (buffer != null && failedForGood(t)) {
                    keptBuffer = buffer; // closed once the controller is closed (disabled for certain)
                } else if (buffer != null) {
                    problems.add("thread " + id + ": buffer still pinned " + buffer.pinCount() + " times at the end");
                }
            }
        }

        void closeKeptBuffer() {
            if (keptBuffer != null) {
                assertEquals(0, keptBuffer.pinCount(), "thread " + id + ": buffer pins after the controller closed");
                keptBuffer.close();
            }
        }

        private void drain(List<IoQueuePair> pairs, int slots) {
            long deadline = System.nanoTime() + HANG_NANOS;
            while (free.size() < slots) {
                if (System.nanoTime() > deadline) {
                    problems.add("thread " + id + ": " + (slots - free.size()) + " command(s) never completed");
                    return;
                }
                for (IoQueuePair p : pairs) {
                    p.awaitCompletions(Duration.ofMillis(2));
                }
            }
        }

        private void submitOne(IoQueuePair qp) {
            int blocks = 1 + random.nextInt(MAX_BLOCKS);
            int first = random.nextInt(REGION - blocks + 1);
            for (int i = first; i < first + blocks; i++) {
                if (busy[i]) {
                    return; // someone is on it: try another time
                }
            }
            Op op = free.removeLast();
            op.write = random.nextInt(10) < 6;
            op.first = first;
            op.blocks = blocks;
            op.seq = op.write ? (long) id << 48 | ++nextSeq : 0;
            MemorySegment data = op.buffer.segment();
            if (op.write) {
                for (int i = 0; i < blocks; i++) {
                    encode(data.asSlice((long) i * BLOCK, BLOCK), firstLba + first + i, op.seq, random);
                }
            } else {
                data.fill((byte) 0x5a);
            }
            long tag = calls.size();
            calls.add(new int[1]);
            for (int i = first; i < first + blocks; i++) {
                busy[i] = true;
            }
            try {
                if (op.write) {
                    qp.write(t.ns(), firstLba + first, blocks, op.buffer, op, tag);
                } else {
                    qp.read(t.ns(), firstLba + first, blocks, op.buffer, op, tag);
                }
                submitted++;
            } catch (QueueFullException e) {
                calls.removeLast(); // not submitted: no completion is owed
                release(op);
            } catch (ControllerFailedException e) {
                calls.removeLast(); // refused: no completion is owed
                release(op);
                throw e;
            }
        }

        private void release(Op op) {
            for (int i = op.first; i < op.first + op.blocks; i++) {
                busy[i] = false;
            }
            free.add(op);
        }

        void done(Op op, int status) {
            boolean ok = status == IoStatus.SUCCESS;
            if (!ok) {
                failed++;
            }
            MemorySegment data = op.buffer.segment();
            for (int i = 0; i < op.blocks; i++) {
                BlockModel m = model[op.first + i];
                if (op.write && ok) {
                    m.acked = op.seq;
                    m.maybe.clear();
                    // Acknowledged means on the medium, now: nothing else of this thread touches the block.
                    String problem = m.check(MemorySegment.ofArray(t.mock.readBlocks(1, firstLba + op.first + i, 1)),
                            firstLba + op.first + i);
                    if (problem != null) {
                        problems.add("thread " + id + ": write acknowledged but not on the medium: " + problem);
                    }
                } else if (op.write) {
                    m.maybe.add(op.seq); // either old or new
                } else if (ok) {
                    String problem = m.check(data.asSlice((long) i * BLOCK, BLOCK), firstLba + op.first + i);
                    if (problem != null) {
                        problems.add("thread " + id + ": read during the run: " + problem);
                    }
                }
            }
            release(op);
        }

        void verifyExactlyOnce() {
            for (int tag = 0; tag < calls.size(); tag++) {
                assertEquals(1, calls.get(tag)[0], "thread " + id + ": callbacks of command " + tag);
            }
        }

        void verifyMedium() {
            byte[] all = t.mock.readBlocks(1, firstLba, REGION);
            MemorySegment s = MemorySegment.ofArray(all);
            for (int i = 0; i < REGION; i++) {
                String problem = model[i].check(s.asSlice((long) i * BLOCK, BLOCK), firstLba + i);
                assertEquals(null, problem, "thread " + id + ", on the medium");
            }
        }

        void verifyThroughDriver(IoQueuePair qp) {
            try (DmaBuffer b = t.buffer((long) REGION * BLOCK)) {
                qp.read(t.ns(), firstLba, REGION, b);
                for (int i = 0; i < REGION; i++) {
                    String problem = model[i].check(b.segment().asSlice((long) i * BLOCK, BLOCK), firstLba + i);
                    assertEquals(null, problem, "thread " + id + ", read back through the driver");
                }
            }
        }
    }

    /** Injects one fault at a time, every few tens of milliseconds, until the end. */
    static final class Faults implements Runnable {
        final TestBed t;
        final SplittableRandom random;
        final long end;
        final ConcurrentLinkedQueue<String> problems;
        final AtomicLong injected = new AtomicLong();
        /**
         * Fatal statuses injected while a reset may have been running, by the reset's number ({@link
         * NvmeController#resetCount()}). Written by the fault thread only; read after it is joined.
         */
        final Map<Long, Integer> fatalsDuringReset = new HashMap<>();

        Faults(TestBed t, long seed, long end, ConcurrentLinkedQueue<String> problems) {
            this.t = t;
            this.random = new SplittableRandom(~seed);
            this.end = end;
            this.problems = problems;
        }

        @Override
        public void run() {
            try {
                // Let traffic start, and stop injecting a little before the end so the last faults settle.
                long stop = end - TimeUnit.MILLISECONDS.toNanos(500);
                TimeUnit.MILLISECONDS.sleep(200);
                while (System.nanoTime() < stop) {
                    var kind = random.nextInt(10);
                    var match = random.nextBoolean() ? CommandView.io(WRITE) : CommandView.io(READ);
                    switch (kind) {
                        case 0, 1, 2 -> t.mock.injectStatus(match, random.nextBoolean() ? NvmeStatus.INTERNAL_ERROR
                                : NvmeStatus.DATA_TRANSFER_ERROR, random.nextBoolean(), 1 + random.nextInt(3));
                        case 3 -> t.mock.dropCommands(match, 1);
                        case 4, 5 -> t.mock.delayCommands(match, Duration.ofMillis(20 + random.nextInt(300)),
                                1 + random.nextInt(4));
                        case 6 -> t.mock.corruptCompletions(match, switch (random.nextInt(3)) {
                            case 0 -> CompletionCorruption.BAD_COMMAND_ID;
                            case 1 -> CompletionCorruption.BAD_SQ_HEAD;
                            default -> CompletionCorruption.DUPLICATE;
                        }, 1);
                        case 7 -> fatal();
                        case 8 -> {
                            try {
                                t.ctrl.reset();
                            } catch (ControllerFailedException e) {
                                if (failedForGood(t)) {
                                    return; // nothing left to inject faults into; the test checks why
                                }
                                throw e;
                            }
                        }
                        default -> { } // a quiet spell
                    }
                    injected.incrementAndGet();
                    TimeUnit.MILLISECONDS.sleep(30 + random.nextInt(150));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                problems.add("fault thread: " + e);
            }
        }

        /**
         * Sets fatal status, counting it against the reset in progress if one may be: one running before or after
         * the injection (the state and the count change together, and a reset that gave up keeps its number).
         */
        private void fatal() {
            boolean resettingBefore = t.ctrl.state() == NvmeController.State.RESETTING;
            t.mock.fatal("injected by the stress test");
            NvmeController.State after = t.ctrl.state();
            if (resettingBefore || after == NvmeController.State.RESETTING || after == NvmeController.State.FAILED) {
                fatalsDuringReset.merge(t.ctrl.resetCount(), 1, Integer::sum);
            }
        }
    }
}
