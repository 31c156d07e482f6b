package dev.ferrum.nvme;

import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.DeviceModel;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.testsupport.ReadmeTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The NVMe rows of the README's bad-input table: each bad input is performed here and the README must show the
 * exception's exact first line ({@link ReadmeTable}).
 */
class BadInputTableTest {
    /** Checks the README after the class: the rows recorded here, and (after a full run) that it has no others. */
    @RegisterExtension
    static final ReadmeTable TABLE = new ReadmeTable(BadInputTableTest.class);

    /** On a thread named {@code app} (so that the wrong-thread message is the same under any test runner). */
    @Test
    void ioErrors() throws Exception {
        CompletableFuture.runAsync(BadInputTableTest::ioErrorsOnOwnerThread, r -> Thread.ofPlatform().name("app")
                .start(r)).get(60, TimeUnit.SECONDS);
    }

    private static void ioErrorsOnOwnerThread() {
        try (TestBed t = new TestBed(); IoQueuePair qp = t.ctrl.createQueuePair(); DmaBuffer buf = t.buffer(4096)) {
            long blocks = t.ns().blockCount();
            TABLE.row("out-of-range LBA", "`qp.read(ns, blockCount - 1, 2, buf)`",
                    assertThrows(IllegalArgumentException.class, () -> qp.read(t.ns(), blocks - 1, 2, buf)));
            TABLE.row("short buffer", "16 blocks of 512 B into a 4 KiB buffer",
                    assertThrows(IllegalArgumentException.class, () -> qp.read(t.ns(), 0, 16, buf)));
            DmaBuffer closed = t.buffer(4096);
            closed.close();
            TABLE.row("closed buffer", "a read into a buffer after `close()`",
                    assertThrows(IllegalStateException.class, () -> qp.read(t.ns(), 0, 1, closed)));
            Throwable wrongThread = CompletableFuture.supplyAsync(
                    () -> assertThrows(WrongThreadException.class, () -> qp.read(t.ns(), 0, 1, buf)),
                    r -> Thread.ofPlatform().name("other").start(r)).join();
            TABLE.row("wrong thread", "thread `app`'s owner-thread queue pair used from thread `other`",
                    wrongThread);
        }
    }

    @Test
    void deviceGone() {
        TestBed t = new TestBed();
        IoQueuePair qp = t.ctrl.createQueuePair();
        DmaBuffer buf = t.buffer(4096);
        t.mockBus.surpriseRemove(TestBed.ADDRESS); // the device's pool freed the buffer: the device cannot reach it
        TABLE.row("device gone", "I/O after the device was surprise-removed",
                assertThrows(ControllerFailedException.class, () -> qp.write(t.ns(), 0, 1, buf)));
        t.close();
    }

    @Test
    void aMessageThatNoLongerMatchesTheReadmeFailsAndPrintsTheRow() {
        ReadmeTable table = new ReadmeTable(BadInputTableTest.class);
        table.row("short buffer", "16 blocks of 512 B into a 4 KiB buffer",
                new IllegalArgumentException("a reworded message"));
        AssertionError e = assertThrows(AssertionError.class, table::verify);
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(
                "| short buffer | 16 blocks of 512 B into a 4 KiB buffer | `` IllegalArgumentException: a reworded "
                        + "message `` | `BadInputTableTest` |"), e.getMessage());
    }

    /** A PCI function that is not an NVMe controller. */
    private static final class NotNvme extends DeviceModel {
        NotNvme() {
            super(DeviceConfig.builder(0x1de5, 0xec40, 0xff0000).bar(0, 4096).build());
        }

        @Override
        protected boolean process() {
            return false;
        }

        @Override
        protected void reset() {
        }
    }

    @Test
    void deviceNotInTheIdTable() {
        PciAddress a = PciAddress.parse("0000:00:05.0");
        try (PciBus bus = PciBus.open(new MockPciBus().add(a, new NotNvme(), MockPciBus.Mode.STEPPED))) {
            TABLE.row("device not in the id table", "`NvmeController.attach` to a function with class ff0000",
                    assertThrows(IllegalArgumentException.class,
                            () -> NvmeController.attach(bus, a, NvmeOptions.defaults())));
        }
    }
}
