package dev.ferrum.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The README's bad-input table, checked against what the code really says: each test that performs a bad input
 * passes its row (key and the exception's first line) here, and {@link #verify} fails unless the README holds
 * exactly that row, printing the rows to paste when it does not. So the table cannot drift from the messages.
 *
 * <p>Rows look like {@code | key | what is tried | `` Exception: message `` |}: the key is the first cell; the
 * message is whole, its line breaks shown as {@code ⏎}, and a device address (IOVA), which varies from run to run,
 * as {@code 0x…}.
 */
public final class ReadmeTable {
    private final Map<String, String[]> expected = new LinkedHashMap<>();

    /** Records the row for {@code key}: {@code tried} in words, and the exception the user sees. */
    public void row(String key, String tried, Throwable error) {
        String message = error.getMessage() == null ? "" : String.join(" ⏎ ",
                error.getMessage().lines().map(String::strip).toList());
        message = message.replaceAll("IOVA 0x[0-9a-f]+", "IOVA 0x…"); // the one part that varies from run to run
        expected.put(key, new String[] {tried, "`` " + error.getClass().getSimpleName() + ": " + message + " ``"});
    }

    /** Fails unless README.md (found from the working directory upwards) holds every recorded row exactly. */
    public void verify() {
        Path readme = find();
        Map<String, String> actual = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(readme)) {
                String[] cells = line.split("(?<!\\\\)\\|");
                if (cells.length >= 4 && line.startsWith("|")) {
                    actual.put(cells[1].strip(), cells[3].strip().replace("\\|", "|"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> wrong = new ArrayList<>();
        StringBuilder rows = new StringBuilder();
        expected.forEach((key, cells) -> {
            rows.append("| ").append(key).append(" | ").append(cells[0]).append(" | ")
                    .append(cells[1].replace("|", "\\|")).append(" |\n");
            if (!cells[1].equals(actual.get(key))) {
                wrong.add(key + ": README has " + actual.get(key) + ", the code says " + cells[1]);
            }
        });
        if (!wrong.isEmpty()) {
            throw new AssertionError("README.md's bad-input table differs from the errors the code gives:\n  "
                    + String.join("\n  ", wrong) + "\nThe rows as they should read:\n" + rows);
        }
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
