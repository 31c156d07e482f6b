package dev.ferrum.bench;

import dev.ferrum.bench.report.ReportGenerator;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * Entry point of the benchmark jar ({@code bench/target/ferrum-benchmarks.jar}); {@code ./ferrum bench} drives it.
 *
 * <pre>
 * run [--profile smoke|quick|full] [--include REGEX]... [--json FILE]   run the suite (JMH), write JMH JSON
 * report --jmh FILE [--c FILE] [--run-info FILE] --out DIR               write REPORT.md and charts
 * jmh ARGS...                                                           plain JMH command line
 * </pre>
 *
 * <p>Profiles: {@code smoke} proves every benchmark runs (in this JVM, no forks, one 20 ms iteration, two queue
 * depths); {@code quick} runs the suite once, one fork per benchmark with 2 x 0.3 s warm-up and 5 x 0.3 s
 * measurement, queue depths 1, 4, 16, 64 and 128 (about 5 minutes); {@code full} runs it three times (rounds, one
 * fork each) with 5 x 1 s warm-up and 8 x 1 s measurement and all queue depths (about 75 minutes). The JSON holds
 * every round's results; the report pools them.
 *
 * <p>Invariants: the JSON file holds the results of every round; the run-info file is written only after the last
 * round.
 */
public final class BenchMain {
    private BenchMain() {}

    /** JVM options of every benchmark fork: what the FFM and Unsafe baselines need, a fixed heap, quiet logs. */
    static final String[] FORK_JVM_ARGS = {
            "--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow",
            "-Xms1g", "-Xmx1g",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    };

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
            usage();
            return;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "run" -> run(rest);
            case "report" -> ReportGenerator.main(rest);
            case "jmh" -> org.openjdk.jmh.Main.main(rest);
            default -> {
                usage();
                System.exit(2);
            }
        }
    }

    private static void usage() {
        System.out.println("""
                Usage: java -jar ferrum-benchmarks.jar COMMAND
                  run [--profile smoke|quick|full] [--include REGEX]... [--json FILE] [--run-info FILE]
                  report --jmh FILE [--c FILE] [--run-info FILE] --out DIR
                  jmh ARGS...            (the plain JMH command line, e.g. jmh -l, jmh -prof gc MmioBench)""");
    }

    /**
     * The settings of a profile. The suite runs {@code rounds} times, one fork per benchmark each time, and the
     * report pools the iterations of all rounds: a burst of load from elsewhere then hits part of a benchmark's
     * samples instead of all of one side of a pair.
     */
    record Profile(String name, int rounds, int forks, int warmupIterations, TimeValue warmupTime, int iterations,
                   TimeValue iterationTime, String[] queueDepths) {
        static Profile of(String name) {
            return switch (name) {
                case "smoke" -> new Profile(name, 1, 0, 0, TimeValue.milliseconds(1), 1, TimeValue.milliseconds(20),
                        new String[] {"1", "16"});
                case "quick" -> new Profile(name, 1, 1, 2, TimeValue.milliseconds(300), 5,
                        TimeValue.milliseconds(300), new String[] {"1", "4", "16", "64", "128"});
                case "full" -> new Profile(name, 3, 1, 5, TimeValue.seconds(1), 8, TimeValue.seconds(1), null);
                default -> throw new IllegalArgumentException("unknown profile '" + name
                        + "': expected smoke, quick or full");
            };
        }
    }

    /** Builds the JMH options of {@code profile} for the benchmarks matching {@code includes}. */
    static OptionsBuilder options(Profile p, List<String> includes, Path json) {
        OptionsBuilder o = new OptionsBuilder();
        for (String inc : includes) {
            o.include(inc);
        }
        ChainedOptionsBuilder c = o.forks(p.forks())
                .warmupIterations(p.warmupIterations())
                .warmupTime(p.warmupTime())
                .measurementIterations(p.iterations())
                .measurementTime(p.iterationTime())
                .jvmArgs(FORK_JVM_ARGS) // instead of the host JVM's own arguments, which JMH would copy
                .shouldFailOnError(true);
        if (p.queueDepths() != null) {
            c.param("qd", p.queueDepths());
        }
        if (json != null) {
            c.resultFormat(ResultFormatType.JSON).result(json.toString());
        }
        return o;
    }

    private static void run(String[] args) throws RunnerException, IOException {
        String profile = "quick";
        List<String> includes = new ArrayList<>();
        Path json = null;
        Path runInfo = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--profile" -> profile = value(args, ++i, "--profile");
                case "--include" -> includes.add(value(args, ++i, "--include"));
                case "--json" -> json = Path.of(value(args, ++i, "--json"));
                case "--run-info" -> runInfo = Path.of(value(args, ++i, "--run-info"));
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "' of run");
            }
        }
        if (includes.isEmpty()) {
            includes.add("dev\\.ferrum\\.bench\\..*");
        }
        Profile p = Profile.of(profile);
        Properties info = new Properties();
        info.setProperty("profile", profile);
        info.setProperty("includes", String.join(" ", includes));
        info.setProperty("start", Instant.now().toString());
        info.setProperty("loadavg.start", loadAverage());
        List<String> rounds = new ArrayList<>();
        for (int r = 1; r <= p.rounds(); r++) {
            Path roundJson = json == null ? null : Path.of(json + ".round" + r);
            System.out.println("# Ferrum bench: round " + r + " of " + p.rounds());
            new Runner(options(p, includes, roundJson).build()).run();
            if (roundJson != null) {
                String text = Files.readString(roundJson).strip();
                rounds.add(text.substring(1, text.length() - 1).strip()); // the array's elements
                Files.delete(roundJson);
            }
        }
        if (json != null) {
            Files.writeString(json, "[\n" + String.join(",\n", rounds.stream().filter(t -> !t.isEmpty()).toList())
                    + "\n]\n");
        }
        info.setProperty("rounds", String.valueOf(p.rounds()));
        info.setProperty("end", Instant.now().toString());
        info.setProperty("loadavg.end", loadAverage());
        if (runInfo != null) {
            try (Writer w = Files.newBufferedWriter(runInfo)) {
                info.store(w, "ferrum bench run");
            }
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    /** {@return the 1, 5 and 15 minute load averages from /proc/loadavg, or "unknown"} */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
