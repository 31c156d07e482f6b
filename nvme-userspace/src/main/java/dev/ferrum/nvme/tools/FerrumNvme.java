package dev.ferrum.nvme.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * {@code ferrum nvme}: the NVMe tools. Run through the launcher: {@code ./ferrum nvme <command> [options]}.
 */
@Command(name = "ferrum nvme", mixinStandardHelpOptions = true, version = "ferrum-nvme 0.1.0",
        description = "Ferrum's userspace NVMe tools. Without --pci they run on a mock NVMe controller; with "
                + "--pci BDF on a real controller bound to vfio-pci.",
        subcommands = {DemoCommand.class, IdentifyCommand.class, VerifyCommand.class, PerfCommand.class,
                SetupCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Examples:",
                "  ./ferrum nvme identify",
                "  ./ferrum nvme verify --mock-block-size 4096",
                "  ./ferrum nvme perf -q 32 -o 4096 -w randread -t 10",
                "  ./ferrum nvme setup --pci 0000:01:00.0        # bind a real drive to vfio-pci",
                "  ./ferrum nvme identify --pci 0000:01:00.0",
                "",
                "JFR: with -Dferrum.nvme.jfr=true the driver records a JFR event (dev.ferrum.nvme.Command) per I/O "
                        + "command, from submission to completion:",
                "  FERRUM_JAVA_OPTS='-Dferrum.nvme.jfr=true -XX:StartFlightRecording=filename=nvme.jfr' \\",
                "      ./ferrum nvme perf -t 5",
                "  jfr print --events dev.ferrum.nvme.Command nvme.jfr | head"})
public final class FerrumNvme {
    private FerrumNvme() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs a command line with the tools' output to {@code out} and errors and usage messages to {@code err}. */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new FerrumNvme());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("ferrum nvme " + cmd.getCommandName() + ": " + message(e));
            if (Boolean.getBoolean("ferrum.debug")) {
                e.printStackTrace(cmd.getErr());
            } else {
                cmd.getErr().println("(run with FERRUM_JAVA_OPTS=-Dferrum.debug=true for the stack trace)");
            }
            return 1;
        });
        return cl.execute(args);
    }

    /** The message of an exception and of its causes, without repeating. */
    static String message(Throwable e) {
        StringBuilder b = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !b.toString().contains(c.getMessage())) {
                b.append(": ").append(c.getMessage());
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return b.toString();
    }
}
