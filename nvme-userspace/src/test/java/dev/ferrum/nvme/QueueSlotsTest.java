package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transfers larger than MDTS take several queue slots. Synchronous calls wait for slots held by others; asynchronous
 * ones refuse, all or nothing, with a message that says what to do.
 */
class QueueSlotsTest {
    /** TestBed: MDTS 5 (128 KiB) and 512-byte blocks: 256 blocks per command. */
    private static final int MIB_BLOCKS = 2048;

    private static void writePattern(TestBed t, long lba, int blocks, long seed) {
        try (DmaBuffer b = t.buffer((long) blocks * 512)) {
            TestBed.fill(b.segment(), seed);
            t.ns().write(lba, blocks, b);
        }
    }

    private static void assertPattern(DmaBuffer b, long seed) {
        try (DmaBuffer expected = b.pool().allocate(b.byteSize())) {
            TestBed.fill(expected.segment(), seed);
            assertEquals(-1, expected.segment().mismatch(b.segment()), "data read back differs");
        }
    }

    @Test
    void commandsForCountsTheSplitCommands() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair()) {
            assertEquals(128 * 1024, qp.maxCommandBytes());
            assertEquals(qp.maxCommandBytes(), t.ctrl.maxCommandBytes());
            assertEquals(1, qp.commandsFor(t.ns(), 1));
            assertEquals(1, qp.commandsFor(t.ns(), 256));
            assertEquals(2, qp.commandsFor(t.ns(), 257));
            assertEquals(8, qp.commandsFor(t.ns(), MIB_BLOCKS));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> qp.commandsFor(t.ns(), 0)).getMessage()
                    .contains("0 blocks"));
        }
    }

    @Test
    void sharedPairServesSeveralThreadsDoingLargeSyncReadsAtOnce() throws Exception {
        int threads = 4;
        try (TestBed t = new TestBed();
             IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder().depth(5) // 4 slots; a read needs 8
                     .threading(QueuePairOptions.Threading.SHARED).build())) {
            for (int i = 0; i < threads; i++) {
                writePattern(t, (long) i * MIB_BLOCKS, MIB_BLOCKS, 100 + i);
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            try {
                List<Future<?>> results = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    int index = i;
                    results.add(pool.submit(() -> {
                        try (DmaBuffer b = t.buffer((long) MIB_BLOCKS * 512)) {
                            start.await();
                            for (int round = 0; round < 5; round++) {
                                b.segment().fill((byte) 0);
                                qp.read(t.ns(), (long) index * MIB_BLOCKS, MIB_BLOCKS, b);
                                assertPattern(b, 100 + index);
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : results) {
                    f.get(60, TimeUnit.SECONDS); // before the fix: QueueFullException from the threads that lost
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(0, qp.outstanding());
        }
    }

    @Test
    void namespaceReadsFromSeveralThreadsShareTheDefaultPair() throws Exception {
        int threads = 3;
        try (TestBed t = new TestBed(TestBed.config(512).build(), b -> b.ioQueueDepth(4))) {
            for (int i = 0; i < threads; i++) {
                writePattern(t, (long) i * MIB_BLOCKS, MIB_BLOCKS, 7 + i);
            }
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int index = i;
                all.add(CompletableFuture.runAsync(() -> {
                    try (DmaBuffer b = t.buffer((long) MIB_BLOCKS * 512)) {
                        for (int round = 0; round < 5; round++) {
                            t.ns().read((long) index * MIB_BLOCKS, MIB_BLOCKS, b);
                            assertPattern(b, 7 + index);
                        }
                    }
                }, r -> Thread.ofPlatform().start(r)));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void asyncSubmissionThatDoesNotFitIsRefusedWholeWithAClearMessage() throws Exception {
        try (TestBed t = new TestBed();
             IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder().depth(8).build());
             DmaBuffer big = t.buffer((long) MIB_BLOCKS * 512);
             DmaBuffer small = t.buffer(4096)) {
            CompletableFuture<Void> first = qp.readAsync(t.ns(), 0, 1, small);
            assertEquals(1, qp.outstanding());
            QueueFullException e = assertThrows(QueueFullException.class,
                    () -> qp.readAsync(t.ns(), 0, MIB_BLOCKS, big));
            assertEquals("queue pair 1 has 6 of 7 slots free; Read of 2048 block(s) at LBA 0 on namespace 1 needs 8 "
                    + "(split at 131072 bytes per command): complete some commands first, or create the pair with a "
                    + "larger depth", e.getMessage());
            assertEquals(1, qp.outstanding(), "nothing of the refused request was sent");
            assertEquals(0, big.pinCount(), "the refused request left its buffer unpinned");
            while (!first.isDone()) {
                qp.awaitCompletions(java.time.Duration.ofMillis(10));
            }
            first.get();
        }
    }

    @Test
    void syncCallOnAnOwnerPairWaitsForItsOwnAsyncCommands() throws Exception {
        try (TestBed t = new TestBed()) {
            writePattern(t, 0, MIB_BLOCKS, 42);
            try (IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder().depth(4).build());
                 DmaBuffer a = t.buffer(MIB_BLOCKS / 4 * 512L);
                 DmaBuffer b = t.buffer((long) MIB_BLOCKS * 512)) {
                // Fills the 3 slots (2 commands + 1), then a sync read needing 8 commands arrives.
                CompletableFuture<Void> first = qp.readAsync(t.ns(), 0, 512, a);
                CompletableFuture<Void> second = qp.readAsync(t.ns(), 0, 1, a);
                assertEquals(3, qp.outstanding());
                qp.read(t.ns(), 0, MIB_BLOCKS, b);
                assertPattern(b, 42);
                assertTrue(first.isDone() && second.isDone(), "completed while the sync call waited for slots");
                first.get();
                second.get();
                assertEquals(b.segment().get(ValueLayout.JAVA_LONG, 0), a.segment().get(ValueLayout.JAVA_LONG, 0),
                        "the async reads of LBA 0 got the same data");
            }
        }
    }

    @Test
    void aSyncFlushOnAFullQueueWaitsAndIsSent() throws Exception {
        try (TestBed t = new TestBed();
             IoQueuePair qp = t.ctrl.createQueuePair(QueuePairOptions.builder().depth(2).build()); // one slot
             DmaBuffer b = t.buffer(4096)) {
            long flushes = t.mock.ioCommandsCompleted(0x00);
            CompletableFuture<Void> read = qp.readAsync(t.ns(), 0, 1, b);
            assertEquals(0, qp.capacity() - qp.outstanding());
            qp.flush(t.ns());
            assertEquals(flushes + 1, t.mock.ioCommandsCompleted(0x00), "the flush reached the controller");
            assertTrue(read.isDone());
            read.get();
        }
    }

    @Test
    void aNegativeBlockCountIsReportedAsItIs() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer b = t.buffer(4096)) {
            assertEquals("Read of -1 blocks: at least 1 is needed",
                    assertThrows(IllegalArgumentException.class, () -> qp.read(t.ns(), 0, -1, b)).getMessage());
            assertEquals("Write Zeroes of -5 blocks: at least 1 is needed",
                    assertThrows(IllegalArgumentException.class, () -> qp.writeZeroes(t.ns(), 0, -5)).getMessage());
            assertEquals("Write of -1 blocks: at least 1 is needed",
                    assertThrows(IllegalArgumentException.class, () -> t.ns().write(0, -1, b)).getMessage());
            assertEquals("Read of 0 blocks: at least 1 is needed",
                    assertThrows(IllegalArgumentException.class, () -> qp.readAsync(t.ns(), 0, 0, b)).getMessage());
        }
    }
}
