package dev.ferrum.example;

import dev.ferrum.example.ChildProcess.Result;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launcher and the documentation agree: every {@code ./ferrum CMD} the markdown documents quote is a command
 * of {@code ./ferrum}, every command {@code ./ferrum help} lists exists, and {@code ./ferrum help CMD} of each
 * succeeds and shows an {@code Examples:} block.
 *
 * <p>{@code ./ferrum help} and the help of the launcher's own commands are shell text and run as they are. The help
 * of {@code nvme} and {@code demo} comes from the NVMe tools (picocli), which the launcher would first build; this
 * test runs that tool's main class with the arguments the launcher passes, in a child JVM on this test's class path
 * (the tool is a test dependency), instead of building inside a test.
 */
class LauncherCommandsTest {
    private static final Path ROOT = GuideSnippetsTest.ROOT;
    private static final Path LAUNCHER = ROOT.resolve("ferrum");
    /** A command quoted in prose or code: {@code ./ferrum nvme identify --pci ...}. */
    private static final Pattern QUOTED = Pattern.compile("\\./ferrum ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?");
    /** An entry of the launcher's dispatch: {@code   demo) cmd_demo "$@" ;;}. */
    private static final Pattern DISPATCH = Pattern.compile("(?m)^  ([a-z][a-z-]*)\\) cmd_([a-z_]+) \"\\$@\" ;;$");
    /** A command whose help the launcher delegates: {@code       nvme) cmd_nvme --help ;;}. */
    private static final Pattern DELEGATED = Pattern.compile("(?m)^ +([a-z][a-z-]*)\\) cmd_([a-z_]+) --help ;;$");

    private static Result run(List<String> command) throws IOException, InterruptedException {
        return ChildProcess.run(ROOT, Duration.ofSeconds(120), command);
    }

    private static Result launcher(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        command.addAll(List.of(args));
        return run(command);
    }

    /** {@return the commands a help text lists: the first word of each entry of its Commands: section} */
    static List<String> listedCommands(String usage) {
        List<String> commands = new ArrayList<>();
        boolean in = false;
        for (String line : usage.split("\n")) {
            if (line.equals("Commands:")) {
                in = true;
            } else if (in && line.isBlank()) {
                break;
            } else if (in && line.matches("^  [a-z].*")) {
                commands.add(line.strip().split("\\s+")[0]);
            }
        }
        return commands;
    }

    private static Set<String> dispatched(String launcher) {
        Set<String> commands = new LinkedHashSet<>();
        Matcher m = DISPATCH.matcher(launcher);
        while (m.find()) {
            commands.add(m.group(1));
        }
        return commands;
    }

    @Test
    void everyCommandTheDocumentationQuotesExists() throws Exception {
        String launcher = Files.readString(LAUNCHER);
        Set<String> commands = dispatched(launcher);
        assertTrue(commands.containsAll(List.of("demo", "nvme", "test", "bench")), "parsed " + commands);
        commands.add("help");
        Set<String> nvmeCommands = nvmeSubcommands();
        List<String> unknown = new ArrayList<>();
        int quoted = 0;
        for (Path doc : DocLinksTest.markdownFiles(ROOT)) {
            String[] lines = Files.readString(doc).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                Matcher m = QUOTED.matcher(lines[i]);
                while (m.find()) {
                    quoted++;
                    String where = ROOT.relativize(doc) + ":" + (i + 1) + ": ./ferrum " + m.group(1);
                    if (!commands.contains(m.group(1))) {
                        unknown.add(where + " (the launcher has " + commands + ")");
                    } else if (m.group(1).equals("nvme") && m.group(2) != null
                            && !nvmeCommands.contains(m.group(2))) {
                        unknown.add(where + " " + m.group(2) + " (ferrum nvme has " + nvmeCommands + ")");
                    }
                }
            }
        }
        assertEquals(List.of(), unknown, "commands quoted in the documentation that the launcher does not have");
        assertTrue(quoted >= 20, "only " + quoted + " quoted commands found");
    }

    @Test
    void everyListedCommandExistsAndItsHelpHasExamples() throws Exception {
        Result usage = launcher("help");
        assertEquals(0, usage.status(), usage.output());
        List<String> listed = listedCommands(usage.output());
        String launcher = Files.readString(LAUNCHER);
        Set<String> dispatched = dispatched(launcher);
        Set<String> expected = new TreeSet<>(dispatched);
        expected.add("help");
        assertEquals(expected, new TreeSet<>(listed), "./ferrum help lists exactly the commands it dispatches");

        Map<String, String> delegated = new LinkedHashMap<>();
        Matcher d = DELEGATED.matcher(launcher);
        while (d.find()) {
            delegated.put(d.group(1), d.group(2));
        }
        assertEquals(Set.of("nvme", "demo"), delegated.keySet(), "commands whose help comes from a Java tool");

        List<String> problems = new ArrayList<>();
        for (String command : listed) {
            Result help = delegated.containsKey(command) ? toolHelp(launcher, delegated.get(command))
                    : launcher("help", command);
            if (help.status() != 0) {
                problems.add("./ferrum help " + command + " exited with " + help.status() + ":\n" + help.output());
            } else if (!help.output().contains("\nExamples:\n")) {
                problems.add("./ferrum help " + command + " shows no Examples: block:\n" + help.output());
            }
        }
        assertEquals(List.of(), problems);
        Result unknown = launcher("help", "no-such-command");
        assertTrue(unknown.status() != 0 && unknown.output().contains("no command 'no-such-command'"),
                unknown.output());
    }

    /**
     * {@return the output of what {@code cmd_NAME --help} runs} The function must be
     * {@code build; run_main MODULE module/main.Class [FIXED ARGS] "$@"}; the main class runs on this test's class
     * path.
     */
    private static Result toolHelp(String launcher, String function) throws IOException, InterruptedException {
        Matcher m = Pattern.compile("(?m)^cmd_" + function + "\\(\\) \\{\\n  build\\n  run_main \\S+ [a-z.]+/([\\w.]+)"
                + "((?: [a-z-]+)*) \"\\$@\"\\n}").matcher(launcher);
        assertTrue(m.find(), "cmd_" + function + " is not 'build; run_main MODULE MODULE/CLASS [ARGS] \"$@\"'");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), m.group(1)));
        command.addAll(List.of(m.group(2).strip().split(" ")).stream().filter(s -> !s.isEmpty()).toList());
        command.add("--help");
        return run(command);
    }

    /** {@return the subcommands {@code ferrum nvme --help} lists} */
    private static Set<String> nvmeSubcommands() throws IOException, InterruptedException {
        Result help = toolHelp(Files.readString(LAUNCHER), "nvme");
        assertEquals(0, help.status(), help.output());
        Set<String> commands = new LinkedHashSet<>(listedCommands(help.output()));
        assertTrue(commands.containsAll(List.of("identify", "perf", "setup")), help.output());
        return commands;
    }
}
