package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.mock.NvmeTestHost.Cqe;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.ferrum.nvme.mock.NvmeTestHost.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The controller on its own thread, as hardware: doorbells from several host threads, interrupts back. */
class ThreadedControllerTest {

    @Test
    void concurrentQueuesOnTheControllersOwnThread() throws Exception {
        MockNvmeController ctrl = new MockNvmeController(MockNvmeController.Config.builder()
                .namespace(1 << 16, 512).maxIoQueuePairs(2).msixVectors(3).build());
        try (NvmeTestHost h = new NvmeTestHost(ctrl, MockPciBus.Mode.THREADED)) {
            List<InterruptVector> vectors = h.enableMsix(3);
            h.enable(16);
            Queue[] queues = {h.createIoQueues(1, 32, 1), h.createIoQueues(2, 32, 2)};
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    Queue q = queues[t];
                    int thread = t;
                    results.add(pool.submit(() -> {
                        DmaBuffer out = h.pool.allocate(4096);
                        DmaBuffer in = h.pool.allocate(4096);
                        for (int i = 0; i < 200; i++) {
                            NvmeTestHost.fillPattern(out.segment(), thread * 1000 + i);
                            long lba = (thread * 200L + i) * 8;
                            q.run(Sqe.rw(0x01, 1, lba, 8, out.deviceAddress(), 0)).assertOk("write " + i);
                            Cqe c = q.run(Sqe.rw(0x02, 1, lba, 8, in.deviceAddress(), 0)).assertOk("read " + i);
                            assertEquals(q.qid, c.sqId());
                            assertArrayEquals(bytes(out.segment()), bytes(in.segment()), "data of " + i);
                        }
                        return 200;
                    }));
                }
                for (Future<Integer> f : results) {
                    assertEquals(200, f.get(60, TimeUnit.SECONDS));
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(400, ctrl.ioCommandsCompleted(0x01));
            assertEquals(400, ctrl.ioCommandsCompleted(0x02));
            assertTrue(vectors.get(1).total() > 0, "queue 1 interrupts");
            assertTrue(vectors.get(2).total() > 0, "queue 2 interrupts");
            byte[] expect = new byte[4096];
            NvmeTestHost.fillPattern(java.lang.foreign.MemorySegment.ofArray(expect), 1000 + 199);
            assertArrayEquals(expect, ctrl.readBlocks(1, (200L + 199) * 8, 8));

            ctrl.fatal("threaded");
            assertEquals(2, h.csts() & 2, "CFS at once, whatever the controller thread does");
            h.disable();
            h.enable(16);
            DmaBuffer data = h.pool.allocate(4096);
            h.createIoQueues(1, 8, 1).run(Sqe.rw(0x02, 1, 0, 1, data.deviceAddress(), 0)).assertOk("after reset");
        }
    }
}
