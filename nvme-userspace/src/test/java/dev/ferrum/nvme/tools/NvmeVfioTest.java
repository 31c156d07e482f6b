package dev.ferrum.nvme.tools;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.vfio.VfioBackend;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoQueuePair;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeOptions;
import dev.ferrum.nvme.QueuePairOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The NVMe driver against QEMU's NVMe controller through real VFIO, inside the test VM (./ferrum vm-test): the
 * same driver code the mock tests exercise, on a device model nobody on this team wrote.
 */
@Tag("vfio")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NvmeVfioTest {
    private PciBus bus;
    private NvmeController ctrl;
    private Namespace ns;

    @BeforeAll
    void attach() {
        String bdf = System.getenv("FERRUM_VFIO_BDF");
        assertNotNull(bdf, "FERRUM_VFIO_BDF is not set: this test runs inside the VFIO test VM (./ferrum vm-test)");
        PciAddress address = PciAddress.parse(bdf);
        bus = PciBus.open(VfioBackend.open(address));
        ctrl = NvmeController.attach(bus, address, NvmeOptions.builder().ioQueues(4)
                .commandTimeout(Duration.ofSeconds(20)).build());
        ns = ctrl.namespace(1);
    }

    @AfterAll
    void detach() {
        if (ctrl != null) {
            ctrl.close();
        }
        if (bus != null) {
            bus.close();
        }
    }

    @Test
    void identifyDescribesQemusController() {
        assertEquals(0x1b36, ctrl.info().vendorId());
        assertEquals("QEMU NVMe Ctrl", ctrl.info().modelNumber());
        assertEquals("ferrum-vm-0001", ctrl.info().serialNumber());
        assertTrue(ctrl.maxQueuePairs() >= 1);
        assertEquals(512, ns.blockSize());
        assertEquals((1L << 30) / 512, ns.blockCount(), "the harness gives a 1 GiB disk");
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        IdentifyCommand.print(new TargetView(ctrl).target(), new PrintWriter(text, true));
        assertTrue(text.toString().contains("QEMU NVMe Ctrl"));
    }

    @Test
    void writeThenReadBackAcrossSizesIncludingBeyondMdtsAndPrpLists() {
        VerifyRun run = new VerifyRun(ctrl, ns, 42, 2, new PrintWriter(System.out, true));
        assertTrue(run.sizes().stream().anyMatch(b -> (long) b * ns.blockSize() > 2 * 4096), "PRP-list sizes");
        assertTrue(ctrl.maxTransferBytes() == 0 || run.sizes().stream()
                .anyMatch(b -> (long) b * ns.blockSize() > ctrl.maxTransferBytes()), "sizes beyond MDTS");
        VerifyRun.Result r = run.run();
        run.report(r);
        assertTrue(r.ok(), r.problems().toString());
        assertTrue(r.extents() >= 10);
    }

    @Test
    void severalQueuePairsFromSeveralThreads() throws Exception {
        int threads = Math.min(3, ctrl.maxQueuePairs());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Integer>> results = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            final int id = i;
            results.add(pool.submit(() -> {
                int checked = 0;
                try (IoQueuePair qp = ctrl.createQueuePair(); DmaBuffer w = ctrl.dmaPool().allocate(64 * 1024);
                     DmaBuffer r = ctrl.dmaPool().allocate(64 * 1024)) {
                    SplittableRandom random = new SplittableRandom(id);
                    long base = 100_000L * (id + 1);
                    for (int k = 0; k < 30; k++) {
                        int blocks = 1 + random.nextInt(128);
                        long lba = base + random.nextLong(50_000);
                        for (long o = 0; o < (long) blocks * 512; o += 8) {
                            w.segment().set(ValueLayout.JAVA_LONG, o, random.nextLong());
                        }
                        qp.write(ns, lba, blocks, w);
                        qp.read(ns, lba, blocks, r);
                        long n = (long) blocks * 512;
                        assertEquals(-1, w.segment().asSlice(0, n).mismatch(r.segment().asSlice(0, n)));
                        checked++;
                    }
                }
                return checked;
            }));
        }
        int total = 0;
        for (Future<Integer> f : results) {
            total += f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertEquals(threads * 30, total);
    }

    @Test
    void interruptModeCompletesThroughMsix() {
        assertTrue(ctrl.interruptVectors() > 1, "MSI-X vectors through VFIO_DEVICE_SET_IRQS");
        try (IoQueuePair qp = ctrl.createQueuePair(QueuePairOptions.builder()
                .completion(QueuePairOptions.Completion.INTERRUPT).build());
             DmaBuffer buf = ctrl.dmaPool().allocate(4096)) {
            long before = ctrl.device().msixVectors().get(qpVector(qp)).total();
            for (int i = 0; i < 10; i++) {
                buf.segment().set(ValueLayout.JAVA_INT, 0, i);
                qp.write(ns, 7000 + i, 8, buf);
                buf.segment().set(ValueLayout.JAVA_INT, 0, -1);
                qp.read(ns, 7000 + i, 8, buf);
                assertEquals(i, buf.segment().get(ValueLayout.JAVA_INT, 0));
            }
            assertTrue(ctrl.device().msixVectors().get(qpVector(qp)).total() > before,
                    "the queue's vector fired");
        }
    }

    private int qpVector(IoQueuePair qp) {
        int vectors = ctrl.interruptVectors();
        return vectors == 1 ? 0 : 1 + (qp.id() - 1) % (vectors - 1);
    }

    @Test
    void flushWriteZeroesAndDeallocate() {
        try (IoQueuePair qp = ctrl.createQueuePair(); DmaBuffer buf = ctrl.dmaPool().allocate(32 * 512)) {
            buf.segment().fill((byte) 0x77);
            qp.write(ns, 50_000, 32, buf);
            qp.flush(ns);
            if (ctrl.info().supportsWriteZeroes()) {
                qp.writeZeroes(ns, 50_000, 16);
                qp.read(ns, 50_000, 32, buf);
                assertTrue(VerifyRun.allZero(buf.segment(), 16 * 512));
                assertEquals(0x77, buf.segment().get(ValueLayout.JAVA_BYTE, 16 * 512));
            }
            if (ctrl.info().supportsDeallocate()) {
                qp.deallocate(ns, 50_000, 32); // must complete without error; contents are unspecified unless DLFEAT
            }
        }
    }

    @Test
    void perfRunsForAFewSeconds() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PerfRun.Params p = new PerfRun.Params(16, 4096, PerfRun.Pattern.RANDRW, 70, Duration.ofSeconds(3), 1,
                QueuePairOptions.Completion.POLLING, 3);
        PerfRun.Result r = new PerfRun(ctrl, ns, p, new PrintWriter(out, true)).run();
        PerfRun.printSummary(new PrintWriter(out, true), p, r);
        System.out.print(out);
        assertEquals(0, r.errors());
        assertTrue(r.ios() > p.queueDepth(), "the queue was refilled as I/Os completed: " + r.ios() + " I/Os");
        assertTrue(r.latencyNanos().getTotalCount() == r.ios());
    }

    /** Gives {@link IdentifyCommand#print} a {@link Target} over an already attached controller. */
    private record TargetView(NvmeController ctrl) {
        Target target() {
            return Target.over(ctrl);
        }
    }
}
