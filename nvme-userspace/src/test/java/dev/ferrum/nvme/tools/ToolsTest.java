package dev.ferrum.nvme.tools;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeOptions;
import dev.ferrum.nvme.QueuePairOptions;
import dev.ferrum.nvme.mock.MockNvmeController;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code ferrum nvme} tools and the demo ({@code ./ferrum demo} runs {@code FerrumNvme demo}), run in-process on
 * the mock controller through the picocli entry point the launcher uses, with short durations: exit codes and the
 * lines a user reads. A 64 MiB mock namespace keeps the memory of write runs small.
 */
class ToolsTest {
    private long buffersBefore;

    /** The outcome of one command line. */
    private record Run(int exit, String out, String err) {
        Run assertExit(int expected) {
            assertEquals(expected, exit, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            return this;
        }

        Run outHas(String text) {
            assertTrue(out.contains(text), () -> "stdout lacks \"" + text + "\":\n" + out + "\nstderr:\n" + err);
            return this;
        }

        Run outLacks(String text) {
            assertFalse(out.contains(text), () -> "stdout has \"" + text + "\":\n" + out);
            return this;
        }

        Run errHas(String text) {
            assertTrue(err.contains(text), () -> "stderr lacks \"" + text + "\":\n" + err);
            return this;
        }
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = FerrumNvme.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    @BeforeEach
    void countBuffers() {
        buffersBefore = DmaPool.liveBuffersGlobally();
    }

    @AfterEach
    void nothingLeaked() {
        assertEquals(buffersBefore, DmaPool.liveBuffersGlobally(), "DMA buffers left alive by the tool");
    }

    @Test
    void demoIdentifiesVerifiesAndMeasures() {
        run("demo", "--seconds", "1", "--mock-size", "64M").assertExit(0)
                .outHas("== identify ==")
                .outHas("mock NVMe controller at 0000:00:04.0 (mock backend)")
                .outHas("  mn        : Ferrum mock NVMe controller")
                .outHas("== verify ==")
                .outHas("verify: OK")
                .outHas("== perf: 4 KiB random reads, queue depth 32, 1 s ==")
                .outHas("randread, 4096 B I/O, queue depth 32 x 1 queue pair(s), polling completion")
                .outHas(" 0 error(s)");
    }

    @Test
    void identifyPrintsControllerNamespaceAndSmart() {
        run("identify", "--mock-size", "64M").assertExit(0)
                .outHas("  sn        : FERRUM-MOCK-0001")
                .outHas("  mdts      : 5 (128 KiB per command)")
                .outHas("  oncs      : 0x000c (write zeroes: yes, deallocate: yes)")
                .outHas("namespace 1")
                .outHas("  nsze/ncap/nuse : 131072/131072/")
                .outHas("  lbaf  0 : ms:0   lbads:9  rp:1 (in use)")
                .outHas("smart");
        run("identify", "--mock-block-size", "4096", "--mock-mdts", "0", "--mock-namespaces", "2").assertExit(0)
                .outHas("  mdts      : 0 (no limit)")
                .outHas("lbads:12 rp:0 (in use)")
                .outHas("namespace 2");
        run("identify", "--mock-namespaces", "2", "-N", "2").assertExit(0)
                .outHas("namespace 2")
                .outLacks("namespace 1");
        run("identify", "--mock-namespaces", "2", "-N", "3").assertExit(1)
                .errHas("has no active namespace 3 (active: [1, 2])");
    }

    @ParameterizedTest(name = "perf -o {0} -q {1} -n {2} -w {3}")
    @CsvSource({
            "4096, 8,  1, randread,  1",
            "256K, 32, 1, randread,  2",  // the mock's MDTS is 128 KiB: every I/O is two commands
            "256K, 4,  2, randrw,    2",
            "1M,   16, 1, write,     8",
            "512,  1,  1, read,      1",
            "64K,  2,  1, randwrite, 1"})
    void perfRunsAndReportsTheDepthItUsed(String size, int depth, int pairs, String pattern, int commands) {
        Run r = run("perf", "-o", size, "-q", String.valueOf(depth), "-n", String.valueOf(pairs), "-w", pattern,
                "-t", "0.5", "--mock-size", "64M").assertExit(0)
                .outHas("perf on mock NVMe controller at 0000:00:04.0")
                .outHas(", queue depth " + depth + " x " + pairs + " queue pair(s), polling completion")
                .outHas(" 0 error(s)")
                .outHas("percentiles (us): p50 ");
        long bytes = TargetOptions.parseSize(size);
        r.outHas(pattern + ", " + bytes + " B I/O" + (commands > 1 ? " (" + commands + " commands each)" : "") + ",");
        Matcher m = Pattern.compile("  ([0-9,]+) I/Os ").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Long.parseLong(m.group(1).replace(",", "")) > 0, "no I/O completed:\n" + r.out());
    }

    @Test
    void perfWithInterrupts() {
        run("perf", "-o", "8K", "-q", "4", "--interrupts", "-t", "0.5", "--mock-size", "64M").assertExit(0)
                .outHas("queue depth 4 x 1 queue pair(s), interrupt completion")
                .outHas(" 0 error(s)");
    }

    @Test
    void verifyPassesOnBothBlockSizesAndWithoutMdts() {
        run("verify", "--passes", "2", "--mock-size", "64M").assertExit(0)
                .outHas("verify on mock NVMe controller at 0000:00:04.0 (mock backend), namespace 1")
                .outHas("0 mismatch(es)")
                .outHas("verify: OK");
        run("verify", "--passes", "1", "--seed", "9", "--mock-size", "64M", "--mock-block-size", "4096",
                "--mock-mdts", "0").assertExit(0).outHas("verify: OK");
    }

    @Test
    void perfSaysWhenTheControllerCannotHoldTheDepthAsked() throws InterruptedException {
        // CAP.MQES allows 16 entries: 15 slots hold 7 I/Os of 256 KiB (2 commands each), not 32.
        MockNvmeController mock = new MockNvmeController(MockNvmeController.Config.builder()
                .namespace(64L << 20 >> 9, 512).maxQueueEntries(16).build());
        try (PciBus bus = PciBus.open(new MockPciBus().add(Target.MOCK_ADDRESS, mock, MockPciBus.Mode.THREADED));
             NvmeController ctrl = NvmeController.attach(bus, Target.MOCK_ADDRESS, NvmeOptions.defaults())) {
            StringWriter text = new StringWriter();
            PrintWriter out = new PrintWriter(text, true);
            PerfRun.Params p = new PerfRun.Params(32, 256 << 10, PerfRun.Pattern.RANDREAD, 100,
                    Duration.ofMillis(300), 1, QueuePairOptions.Completion.POLLING, 1);
            PerfRun.Result r = new PerfRun(ctrl, ctrl.namespace(1), p, out).run();
            PerfRun.printSummary(out, p, r);
            assertEquals(7, r.queueDepth());
            assertEquals(2, r.commandsPerIo());
            assertEquals(0, r.errors());
            assertTrue(text.toString().contains("perf: queue depth 7 instead of 32: each 262144-byte I/O takes 2 "
                    + "commands (MDTS) and a queue holds at most 15"), text.toString());
            assertTrue(text.toString().contains("queue depth 7 x 1 queue pair(s)"), text.toString());
        }
    }

    @Test
    void badOptionsGiveAClearErrorAndANonZeroExit() {
        run("perf", "-w", "sideways", "--mock-size", "64M").assertExit(1)
                .errHas("ferrum nvme perf: unknown pattern 'sideways': use read, write, randread, randwrite, rw or "
                        + "randrw");
        run("perf", "-q", "0").assertExit(1).errHas("ferrum nvme perf: queue depth 0 is not 1..65535");
        run("perf", "-o", "100", "-t", "0.1", "--mock-size", "64M").assertExit(1)
                .errHas("I/O size 100 is not a multiple of the block size 512");
        run("perf", "-o", "lots").assertExit(1).errHas("'lots' is not a size");
        run("perf", "-o", "2G", "-t", "0.1", "--mock-size", "64M").assertExit(1)
                .errHas("I/O size 2G is too large");
        run("identify", "--mock-block-size", "1000").assertExit(1)
                .errHas("ferrum nvme identify: --mock-block-size 1000 is not 512 or 4096");
        run("verify", "-N", "3", "--mock-size", "64M").assertExit(1).errHas("has no active namespace 3");
        run("demo", "--pci", "0000:01:00.0").assertExit(1)
                .errHas("the demo writes to 0000:01:00.0; add --i-know-this-destroys-data");
        run("verify", "--pci", "0000:01:00.0").assertExit(1)
                .errHas("verify overwrites data on 0000:01:00.0; add --i-know-this-destroys-data");
        run("perf", "--bogus").assertExit(2).errHas("Unknown option: '--bogus'").errHas("Usage: ferrum nvme perf");
        run("frobnicate").assertExit(2).errHas("Unmatched argument at index 0: 'frobnicate'");
    }

    @Test
    void helpListsTheCommandsAndTheJfrOptIn() {
        run("--help").assertExit(0).outHas("demo").outHas("identify").outHas("verify").outHas("perf")
                .outHas("-Dferrum.nvme.jfr=true");
        run("perf", "--help").assertExit(0).outHas("--queue-depth").outHas("--io-size");
    }
}
