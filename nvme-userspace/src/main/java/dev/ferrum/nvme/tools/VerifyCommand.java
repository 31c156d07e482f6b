package dev.ferrum.nvme.tools;

import dev.ferrum.nvme.NvmeOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code verify}: write patterns, read back, compare. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Write self-describing patterns in several transfer sizes (single block, PRP lists, beyond "
                + "MDTS), read them back and compare; check Write Zeroes, Deallocate and Flush. "
                + "DESTROYS DATA on the namespace.",
        footer = {"", "Examples:", "  ./ferrum nvme verify", "  ./ferrum nvme verify --passes 10 --seed 7",
                "  ./ferrum nvme verify --pci 0000:01:00.0 --i-know-this-destroys-data"})
final class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    TargetOptions target = new TargetOptions();

    @Option(names = "--passes", defaultValue = "3", description = "Passes over all sizes (default: ${DEFAULT-VALUE}).")
    int passes;

    @Option(names = "--seed", defaultValue = "1", description = "Pattern seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--i-know-this-destroys-data",
            description = "Required with --pci: verify overwrites blocks of the real namespace.")
    boolean destroyConfirmed;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (target.pci != null && !destroyConfirmed) {
            throw new IllegalArgumentException("verify overwrites data on " + target.pci
                    + "; add --i-know-this-destroys-data if this drive holds nothing you need");
        }
        try (Target t = Target.open(target, NvmeOptions.builder())) {
            out.println("verify on " + t.describe() + ", namespace " + target.namespace);
            VerifyRun run = new VerifyRun(t.ctrl, t.namespace(target), seed, passes, out);
            VerifyRun.Result r = run.run();
            run.report(r);
            return r.ok() ? 0 : 2;
        }
    }
}
