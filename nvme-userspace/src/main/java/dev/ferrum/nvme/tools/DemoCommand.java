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

/** {@code demo}: the main job. Identify, verify and a short perf run on the mock controller. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The Ferrum NVMe demo: identify, verify and a short perf run, on the mock NVMe controller "
                + "unless --pci is given.",
        footer = {"", "Examples:", "  ./ferrum demo", "  ./ferrum nvme demo --mock-block-size 4096 --seconds 5"})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    TargetOptions target = new TargetOptions();

    @Option(names = "--seconds", defaultValue = "3", description = "Length of the perf run (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--i-know-this-destroys-data", description = "Required with --pci.")
    boolean destroyConfirmed;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        if (target.pci != null && !destroyConfirmed) {
            throw new IllegalArgumentException("the demo writes to " + target.pci
                    + "; add --i-know-this-destroys-data if this drive holds nothing you need");
        }
        try (Target t = Target.open(target, NvmeOptions.builder())) {
            out.println("== identify ==");
            IdentifyCommand.print(t, out);
            out.println();
            out.println("== verify ==");
            VerifyRun verify = new VerifyRun(t.ctrl, t.namespace(target), 1, 2, out);
            VerifyRun.Result vr = verify.run();
            verify.report(vr);
            out.println();
            out.println("== perf: 4 KiB random reads, queue depth 32, " + seconds + " s ==");
            PerfRun.Params params = new PerfRun.Params(32, 4096, PerfRun.Pattern.RANDREAD, 100,
                    Duration.ofSeconds(seconds), 1, QueuePairOptions.Completion.POLLING, 1);
            PerfRun.Result pr = new PerfRun(t.ctrl, t.namespace(target), params, out).run();
            PerfRun.printSummary(out, params, pr);
            return vr.ok() && pr.errors() == 0 ? 0 : 2;
        }
    }
}
