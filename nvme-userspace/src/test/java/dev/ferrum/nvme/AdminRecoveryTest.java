package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.mock.CommandView;
import dev.ferrum.nvme.mock.CompletionCorruption;
import dev.ferrum.nvme.mock.FaultRule;
import dev.ferrum.sys.nvme.Nvme;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Admin commands that never complete, or complete with garbage: the controller resets and stays usable. */
class AdminRecoveryTest {
    private static final int FEATURE_NUM_QUEUES = 0x07;

    /**
     * A small admin queue (3 slots, one held by the Asynchronous Event Request): without the reset reclaiming the
     * dropped commands' slots, the third round would find the queue full instead of timing out.
     */
    @Test
    void droppedAdminCommandTimesOutResetsTheControllerAndItsSlotIsReclaimed() {
        try (TestBed t = new TestBed(TestBed.config(512).build(),
                o -> o.adminTimeout(Duration.ofMillis(300)).adminQueueDepth(4));
             IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            int resetsBefore = t.mock.controllerResets();
            FaultRule drop = t.mock.dropCommands(CommandView.admin(Nvme.NVME_ADMIN_GET_LOG_PAGE()), 1);
            NvmeTimeoutException e = assertThrows(NvmeTimeoutException.class, t.ctrl::smartLog);
            assertTrue(e.getMessage().contains("Get Log Page (SMART / Health) timed out after 300 ms"), e.getMessage());
            assertTrue(e.getMessage().contains("reset"), e.getMessage());
            awaitResets(t, 1);
            assertEquals(1, drop.hits());
            assertTrue(t.ctrl.lastResetReason().contains("admin command timed out: Get Log Page"),
                    t.ctrl.lastResetReason());
            assertTrue(t.mock.controllerResets() > resetsBefore, "the device saw CC.EN go 1 -> 0");
            for (int round = 2; round <= 3; round++) {
                t.mock.dropCommands(CommandView.admin(Nvme.NVME_ADMIN_GET_FEATURES()), 1);
                assertThrows(NvmeTimeoutException.class, () -> t.ctrl.getFeature(FEATURE_NUM_QUEUES));
                awaitResets(t, round);
            }
            // Usable afterwards: admin and I/O.
            assertTrue(t.ctrl.smartLog().temperatureKelvin() > 0);
            t.ctrl.getFeature(FEATURE_NUM_QUEUES);
            buf.segment().set(ValueLayout.JAVA_INT, 0, 0x5eed);
            qp.write(t.ns(), 7, 1, buf);
            buf.segment().set(ValueLayout.JAVA_INT, 0, 0);
            qp.read(t.ns(), 7, 1, buf);
            assertEquals(0x5eed, buf.segment().get(ValueLayout.JAVA_INT, 0));
        }
    }

    /**
     * An Abort (sent without a waiting caller) that the device drops: the watchdog's check of admin deadlines
     * resets the controller long before the I/O command's own abort timeout (30 s here) would.
     */
    @Test
    void watchdogResetsTheControllerForAnAdminCommandNobodyWaitsFor() {
        try (TestBed t = new TestBed(TestBed.config(512).build(),
                o -> o.adminTimeout(Duration.ofMillis(300)).abortTimeout(Duration.ofSeconds(30)));
             IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            t.mock.dropCommands(CommandView.io(Nvme.NVME_CMD_WRITE()), 1);
            t.mock.dropCommands(CommandView.admin(Nvme.NVME_ADMIN_ABORT()), 1);
            NvmeTimeoutException e = assertThrows(NvmeTimeoutException.class, () -> qp.write(t.ns(), 0, 1, buf));
            assertTrue(e.getMessage().contains("Write"), e.getMessage());
            assertEquals(1, t.ctrl.resetCount());
            assertTrue(t.ctrl.lastResetReason().contains("admin command timed out: Abort (SQ 1"),
                    t.ctrl.lastResetReason());
            qp.write(t.ns(), 0, 1, buf); // usable after the reset
            assertEquals(0, buf.pinCount());
        }
    }

    /** The device answers Get Features with a corrupted entry: the caller gets an exception, not a hang. */
    @ParameterizedTest
    @EnumSource(value = CompletionCorruption.class, names = {"BAD_COMMAND_ID", "BAD_SQ_HEAD"})
    void corruptAdminCompletionFailsTheCommandAndTheResetRecovers(CompletionCorruption kind) {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            t.mock.corruptCompletions(CommandView.admin(Nvme.NVME_ADMIN_GET_FEATURES()), kind, 1);
            NvmeException e = assertThrows(NvmeException.class, () -> t.ctrl.getFeature(FEATURE_NUM_QUEUES));
            assertFalse(e instanceof ControllerFailedException, "the controller recovers; it does not fail");
            assertTrue(e.getMessage().contains("reset"), e.getMessage());
            awaitResets(t, 1);
            assertTrue(t.ctrl.lastResetReason().contains("invalid completion entry: admin queue"),
                    t.ctrl.lastResetReason());
            assertEquals(NvmeController.State.LIVE, t.ctrl.state());
            t.ctrl.getFeature(FEATURE_NUM_QUEUES);
            qp.write(t.ns(), 0, 1, buf);
        }
    }

    /**
     * Fatal status while a reset enables the controller again (CC.EN = 1, RDY not yet 1): the reset starts over from
     * disabling it, rather than failing the controller for good, and the queue pair recovers.
     */
    @Test
    void fatalStatusWhileTheResetEnablesTheControllerIsRetried() throws InterruptedException {
        try (TestBed t = new TestBed(TestBed.config(512).readyDelay(Duration.ofMillis(300)).build());
             IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            int disables = t.mock.controllerResets();
            Thread resetter = Thread.ofPlatform().name("resetter").start(t.ctrl::reset);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (t.mock.controllerResets() == disables) { // the reset has not disabled the controller yet
                assertTrue(System.nanoTime() - deadline < 0, "the reset never disabled the controller");
                LockSupport.parkNanos(100_000);
            }
            Thread.sleep(50); // the reset is waiting for RDY, which comes 300 ms after CC.EN = 1
            t.mock.fatal("while the reset enables the controller");
            resetter.join(Duration.ofSeconds(30));
            assertFalse(resetter.isAlive(), "reset() returned");
            assertEquals(NvmeController.State.LIVE, t.ctrl.state(), t.ctrl.failureReason());
            assertEquals(1, t.ctrl.resetCount(), "one reset, two attempts");
            assertEquals(disables + 2, t.mock.controllerResets(), "the second attempt disabled the controller again");
            buf.segment().set(ValueLayout.JAVA_INT, 0, 0x5eed);
            qp.write(t.ns(), 7, 1, buf);
            buf.segment().set(ValueLayout.JAVA_INT, 0, 0);
            qp.read(t.ns(), 7, 1, buf);
            assertEquals(0x5eed, buf.segment().get(ValueLayout.JAVA_INT, 0));
        }
    }

    /** Waits until {@code n} resets have run and the controller is live again. */
    private static void awaitResets(TestBed t, int n) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (t.ctrl.resetCount() < n || t.ctrl.state() != NvmeController.State.LIVE) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("expected " + n + " reset(s), saw " + t.ctrl.resetCount() + "; state "
                        + t.ctrl.state() + ", last reason " + t.ctrl.lastResetReason());
            }
            LockSupport.parkNanos(1_000_000);
        }
        assertEquals(n, t.ctrl.resetCount(), "exactly one reset per problem");
    }
}
