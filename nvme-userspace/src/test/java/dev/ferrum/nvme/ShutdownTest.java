package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.mock.CommandView;
import dev.ferrum.sys.nvme.Nvme;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Closing the controller deletes every I/O queue (SQ, then CQ) before CC.SHN, as NVMe 1.4 section 7.6.2 asks. */
class ShutdownTest {

    @Test
    void shutdownDeletesTheQueuesOfEveryPairIncludingOwnerThreadOnesBeforeCcShn() throws Exception {
        try (TestBed t = new TestBed(TestBed.config(512).build(), o -> o.ioQueues(4));
             DmaBuffer buf = t.buffer(4096)) {
            t.mock.recordCommands(1024);
            IoQueuePair shared = t.ctrl.createQueuePair(QueuePairOptions.builder()
                    .threading(QueuePairOptions.Threading.SHARED).build());
            // An owner-thread pair of this thread, with a command the device holds outstanding.
            IoQueuePair mine = t.ctrl.createQueuePair();
            t.mock.dropCommands(CommandView.io(Nvme.NVME_CMD_WRITE()), 1);
            CompletableFuture<Void> held = mine.writeAsync(t.ns(), 0, 8, buf);
            // An owner-thread pair of another thread, idle while the controller closes.
            ExecutorService other = Executors.newSingleThreadExecutor();
            CountDownLatch closed = new CountDownLatch(1);
            CompletableFuture<Integer> otherId = new CompletableFuture<>();
            Future<?> otherDone = other.submit(() -> {
                IoQueuePair qp = t.ctrl.createQueuePair();
                otherId.complete(qp.id());
                closed.await();
                qp.close(); // after the controller closed: frees it, no error
                return null;
            });
            List<Integer> qids = List.of(shared.id(), mine.id(), otherId.get(30, TimeUnit.SECONDS));

            t.ctrl.close();

            assertEquals(1, t.mock.shutdowns());
            assertEquals(List.of(), t.mock.ioQueuesAtShutdown(), "I/O queues left on the device at CC.SHN");
            List<CommandView> admin = t.mock.recordedCommands().stream().filter(CommandView::isAdmin).toList();
            for (int qid : qids) {
                int deleteSq = indexOf(admin, Nvme.NVME_ADMIN_DELETE_SQ(), qid);
                int deleteCq = indexOf(admin, Nvme.NVME_ADMIN_DELETE_CQ(), qid);
                assertTrue(deleteSq >= 0 && deleteCq > deleteSq, "queue " + qid + ": Delete SQ (" + deleteSq
                        + ") then Delete CQ (" + deleteCq + ")");
            }
            closed.countDown();
            otherDone.get(30, TimeUnit.SECONDS);
            other.shutdown();
            assertFalse(mine.isOpen());
            mine.close();
            assertThrows(Exception.class, () -> held.get(30, TimeUnit.SECONDS), "the held command failed");
            assertEquals(0, buf.pinCount());
        }
    }

    /** A pair that has not recreated its queues since a reset has none on the device: nothing to delete. */
    @Test
    void aPairStaleSinceAResetIsNotDeletedAgain() {
        try (TestBed t = new TestBed(TestBed.config(512).build(), o -> o.ioQueues(4))) {
            IoQueuePair stale = t.ctrl.createQueuePair();
            IoQueuePair shared = t.ctrl.createQueuePair(QueuePairOptions.builder()
                    .threading(QueuePairOptions.Threading.SHARED).build());
            t.ctrl.reset(); // the shared pair recovers in the reset; the owner-thread one only on its next call
            t.mock.recordCommands(1024);
            t.ctrl.close();
            List<CommandView> admin = t.mock.recordedCommands().stream().filter(CommandView::isAdmin).toList();
            assertEquals(-1, indexOf(admin, Nvme.NVME_ADMIN_DELETE_SQ(), stale.id()));
            assertTrue(indexOf(admin, Nvme.NVME_ADMIN_DELETE_CQ(), shared.id()) >= 0);
            assertEquals(List.of(), t.mock.ioQueuesAtShutdown());
            assertEquals(1, t.mock.shutdowns());
            stale.close();
        }
    }

    private static int indexOf(List<CommandView> commands, int opcode, int qid) {
        for (int i = 0; i < commands.size(); i++) {
            CommandView c = commands.get(i);
            if (c.opcode() == opcode && (c.cdw10() & 0xffff) == qid) {
                return i;
            }
        }
        return -1;
    }
}
