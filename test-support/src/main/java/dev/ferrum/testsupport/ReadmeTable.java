package dev.ferrum.testsupport;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The README's bad-input table, checked against what the code really says. A test class that performs bad inputs
 * registers one of these ({@code @RegisterExtension static final ReadmeTable TABLE = new ReadmeTable(Its.class)})
 * and passes each row here: key, what is tried, and the exception the user sees. After the class,
 * <ul>
 *   <li>every recorded row must be in the README with the same cells, all four of them: key, what is tried, the
 *       exception and its message, and the test class that performs it;</li>
 *   <li>every row of the README table must name a test class that exists in the repository;</li>
 *   <li>when every test method of the class ran and passed (not in a run filtered down to some of them, nor after
 *       a failure, which fails the build anyway), every README row naming this class must have been recorded by
 *       it, so that the table holds no row that no test performs.</li>
 * </ul>
 * A failure prints the rows to paste. So the table cannot drift from the messages.
 *
 * <p>The table is the one whose header row starts with {@code | bad input |}. Rows look like
 * {@code | key | what is tried | `` Exception: message `` | `TestClass` |}: the message is whole, its line breaks
 * shown as {@code ⏎}, and a device address (IOVA), which varies from run to run, as {@code 0x…}; a {@code |} inside
 * a cell is written {@code \|}.
 *
 * <p>Invariants: a key is recorded at most once per table (a second recording replaces the first); the README is
 * only read, never written.
 */
public final class ReadmeTable implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
    private static final int CELLS = 4;

    private final Class<?> owner;
    /** The README, or null: README.md beside the {@code ferrum} launcher, from the working directory upwards. */
    private final Path readme;
    private final Map<String, List<String>> expected = new LinkedHashMap<>();
    private final Set<Method> passed = ConcurrentHashMap.newKeySet();

    /**
     * A table recorded by {@code owner}, the test class that performs the bad inputs and is named in its rows,
     * checked against the repository's README.md (beside the {@code ferrum} launcher, from the working directory
     * upwards).
     *
     * @throws NullPointerException if {@code owner} is null
     */
    public ReadmeTable(Class<?> owner) {
        this(owner, null);
    }

    /**
     * A table checked against {@code readme}, whose directory stands for the repository (test classes are looked
     * for below it): for testing this check on a fixture README.
     *
     * @throws NullPointerException if {@code owner} is null
     */
    public ReadmeTable(Class<?> owner, Path readme) {
        if (owner == null) {
            throw new NullPointerException("the test class that owns the README rows is null");
        }
        this.owner = owner;
        this.readme = readme == null ? null : readme.toAbsolutePath();
    }

    /** Records the row for {@code key}: {@code tried} in words, and the exception the user sees. */
    public synchronized void row(String key, String tried, Throwable error) {
        String message = error.getMessage() == null ? "" : String.join(" ⏎ ",
                error.getMessage().lines().map(String::strip).toList());
        message = message.replaceAll("IOVA 0x[0-9a-f]+", "IOVA 0x…"); // the one part that varies from run to run
        expected.put(key, List.of(key, tried, "`` " + error.getClass().getSimpleName() + ": " + message + " ``",
                "`" + owner.getSimpleName() + "`"));
    }

    /** Starts from nothing recorded: each run of the class is checked on its own. */
    @Override
    public synchronized void beforeAll(ExtensionContext context) {
        expected.clear();
        passed.clear();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (context.getExecutionException().isEmpty()) {
            passed.add(context.getRequiredTestMethod());
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (context.getRequiredTestClass() != owner) {
            throw new IllegalStateException("ReadmeTable of " + owner.getName() + " is registered in "
                    + context.getRequiredTestClass().getName() + ": pass the class it is registered in");
        }
        boolean complete = Arrays.stream(owner.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(Test.class) && !m.isAnnotationPresent(Disabled.class))
                .allMatch(passed::contains);
        verify(complete);
    }

    /**
     * Fails unless the README holds every recorded row exactly and every row of its table names an existing test
     * class. Does not require the README rows of this class to have been recorded (see {@link #verify(boolean)}).
     */
    public void verify() {
        verify(false);
    }

    /**
     * {@link #verify()}, and if {@code complete} (every test of the owner ran), also fails on README rows naming
     * the owner that it did not record.
     */
    public synchronized void verify(boolean complete) {
        Path readme = this.readme != null ? this.readme : find();
        Map<String, List<String>> actual = table(readme);
        List<String> wrong = new ArrayList<>();
        Set<String> testClasses = testClassNames(readme.getParent());
        testClasses.add(owner.getSimpleName()); // exists: it recorded these rows (and may be a nested class)
        actual.forEach((key, cells) -> {
            String named = cells.get(CELLS - 1).replace("`", "");
            if (!testClasses.contains(named)) {
                wrong.add(key + ": README names " + cells.get(CELLS - 1) + " as the test that performs it, but no "
                        + "such test class exists");
            } else if (complete && named.equals(owner.getSimpleName()) && !expected.containsKey(key)) {
                wrong.add(key + ": README names " + cells.get(CELLS - 1) + ", which ran in full and performed no "
                        + "such bad input: remove the row, or perform it there");
            }
        });
        StringBuilder rows = new StringBuilder();
        expected.forEach((key, cells) -> {
            rows.append("|");
            cells.forEach(c -> rows.append(" ").append(c.replace("|", "\\|")).append(" |"));
            rows.append("\n");
            if (!cells.equals(actual.get(key))) {
                wrong.add(key + ": README has " + actual.get(key) + ", the code says " + cells);
            }
        });
        if (!wrong.isEmpty()) {
            throw new AssertionError("README.md's bad-input table differs from the errors the code gives:\n  "
                    + String.join("\n  ", wrong) + "\nThe rows of " + owner.getSimpleName() + " as they should read:\n"
                    + rows);
        }
    }

    /** {@return the bad-input table's rows by key, each as its cells, unescaped} */
    static Map<String, List<String>> table(Path readme) {
        List<String> lines;
        try {
            lines = Files.readAllLines(readme);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int header = -1;
        for (int i = 0; i < lines.size() && header < 0; i++) {
            if (lines.get(i).startsWith("| bad input |")) {
                header = i;
            }
        }
        if (header < 0) {
            throw new IllegalStateException(readme + " has no bad-input table (a header row starting '| bad input |')");
        }
        Map<String, List<String>> rows = new LinkedHashMap<>();
        for (int i = header + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
            String line = lines.get(i).strip();
            // Cells between unescaped pipes: dropping the closing pipe, the leading one gives an empty first cell.
            List<String> cells = line.endsWith("|") ? Stream.of(line.substring(0, line.length() - 1)
                    .split("(?<!\\\\)\\|")).skip(1).map(c -> c.strip().replace("\\|", "|")).toList() : List.of();
            if (cells.size() != CELLS) {
                throw new IllegalStateException(readme + ":" + (i + 1) + ": a bad-input row needs " + CELLS
                        + " cells (bad input, what is tried, the exception, the test class), not: " + line);
            }
            if (rows.put(cells.getFirst(), cells) != null) {
                throw new IllegalStateException(readme + ":" + (i + 1) + ": a second row for '" + cells.getFirst()
                        + "'");
            }
        }
        return rows;
    }

    /** {@return the simple names of the test classes (files under any src/test/java) below {@code root}} */
    private static Set<String> testClassNames(Path root) {
        Set<String> names = new HashSet<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    String name = dir.equals(root) ? "" : dir.getFileName().toString();
                    return name.startsWith(".") || name.equals("target") ? FileVisitResult.SKIP_SUBTREE
                            : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    String f = file.toString();
                    if (f.endsWith(".java") && f.contains("/src/test/java/")) {
                        names.add(file.getFileName().toString().replaceFirst("\\.java$", ""));
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }

    private static Path find() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("README.md")) && Files.isRegularFile(d.resolve("ferrum"))) {
                return d.resolve("README.md");
            }
        }
        throw new IllegalStateException("no README.md beside the ferrum launcher above " + Path.of("").toAbsolutePath());
    }
}
