package dev.ferrum.nvme.tools;

import dev.ferrum.nvme.NvmeOptions;
import dev.ferrum.nvme.QueuePairOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code perf}: like {@code spdk_nvme_perf}. */
@Command(name = "perf", mixinStandardHelpOptions = true,
        description = "Measure IOPS, throughput and latency percentiles, like spdk_nvme_perf. Write patterns "
                + "DESTROY DATA on the namespace.",
        footer = {"", "Examples:", "  ./ferrum nvme perf -q 32 -o 4096 -w randread -t 10",
                "  ./ferrum nvme perf -q 128 -w randwrite -n 2 --mock-null",
                "  ./ferrum nvme perf -w randrw -M 70 --interrupts",
                "  ./ferrum nvme perf --pci 0000:01:00.0 -q 64 -w randread -t 30"})
final class PerfCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    TargetOptions target = new TargetOptions();

    @Option(names = {"-q", "--queue-depth"}, defaultValue = "32",
            description = "I/Os in flight per queue pair (default: ${DEFAULT-VALUE}). An I/O larger than the "
                    + "controller's MDTS is split into several commands; queues are sized for them, and the depth is "
                    + "reduced (with a note) only if the controller's queues cannot hold that many.")
    int queueDepth;

    @Option(names = {"-o", "--io-size"}, defaultValue = "4096", description = "I/O size in bytes (default: "
            + "${DEFAULT-VALUE}).")
    String ioSize;

    @Option(names = {"-w", "--pattern"}, defaultValue = "randread",
            description = "read, write, randread, randwrite, rw, randrw (default: ${DEFAULT-VALUE}).")
    String pattern;

    @Option(names = {"-M", "--mix"}, defaultValue = "50", description = "Read percentage for rw/randrw "
            + "(default: ${DEFAULT-VALUE}).")
    int readPercent;

    @Option(names = {"-t", "--time"}, defaultValue = "10", description = "Seconds to run (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = {"-n", "--queue-pairs"}, defaultValue = "1",
            description = "Queue pairs, one thread each (default: ${DEFAULT-VALUE}).")
    int queuePairs;

    @Option(names = "--interrupts", description = "Complete by MSI-X interrupt instead of polling.")
    boolean interrupts;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--i-know-this-destroys-data", description = "Required with --pci for write patterns.")
    boolean destroyConfirmed;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PerfRun.Pattern p;
        try {
            p = PerfRun.Pattern.valueOf(pattern.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown pattern '" + pattern
                    + "': use read, write, randread, randwrite, rw or randrw");
        }
        if (queueDepth < 1 || queueDepth > 65535) {
            throw new IllegalArgumentException("queue depth " + queueDepth + " is not 1..65535");
        }
        if (readPercent < 0 || readPercent > 100) {
            throw new IllegalArgumentException("read mix " + readPercent + "% is not 0..100");
        }
        if (seconds <= 0) {
            throw new IllegalArgumentException("time " + seconds + " s is not positive");
        }
        if (queuePairs < 1) {
            throw new IllegalArgumentException("queue pairs " + queuePairs + " is not positive");
        }
        boolean writes = p != PerfRun.Pattern.READ && p != PerfRun.Pattern.RANDREAD;
        if (target.pci != null && writes && !destroyConfirmed) {
            throw new IllegalArgumentException("pattern " + pattern + " overwrites data on " + target.pci
                    + "; add --i-know-this-destroys-data if this drive holds nothing you need");
        }
        long size = TargetOptions.parseSize(ioSize);
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("I/O size " + ioSize + " is too large");
        }
        NvmeOptions.Builder options = NvmeOptions.builder().ioQueues(queuePairs + 1);
        try (Target t = Target.open(target, options)) {
            if (queuePairs > t.ctrl.maxQueuePairs()) {
                throw new IllegalArgumentException(queuePairs + " queue pairs requested, the controller granted "
                        + t.ctrl.maxQueuePairs());
            }
            PerfRun.Params params = new PerfRun.Params(queueDepth, (int) size, p, readPercent,
                    Duration.ofMillis((long) (seconds * 1000)), queuePairs,
                    interrupts ? QueuePairOptions.Completion.INTERRUPT : QueuePairOptions.Completion.POLLING, seed);
            out.println("perf on " + t.describe() + ", namespace " + target.namespace);
            PerfRun.Result r = new PerfRun(t.ctrl, t.namespace(target), params, out).run();
            PerfRun.printSummary(out, params, r);
            return r.errors() == 0 ? 0 : 2;
        }
    }
}
