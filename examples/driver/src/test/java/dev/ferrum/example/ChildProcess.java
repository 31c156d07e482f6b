package dev.ferrum.example;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs a child process for a test, bounded in time: its output (stdout and stderr together) goes to a temporary
 * file rather than a pipe, so waiting for it cannot block on a child that never exits, and a child that outlives
 * the timeout is killed and fails the test with what it printed so far.
 *
 * <p>Invariants: when {@link #run} returns or throws, the child has exited (or been killed) and its temporary
 * file is deleted.
 */
final class ChildProcess {
    /** What a child that exited printed, and its exit status. */
    record Result(int status, String output) {}

    private ChildProcess() {
    }

    /**
     * Runs {@code command} in {@code directory} and waits at most {@code timeout} for it.
     *
     * @return its exit status and output
     * @throws org.opentest4j.AssertionFailedError if it did not exit in time (it is killed first)
     */
    static Result run(Path directory, Duration timeout, List<String> command)
            throws IOException, InterruptedException {
        Path output = Files.createTempFile("ferrum-child-", ".out");
        try {
            Process p = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                fail(String.join(" ", command) + " did not exit within " + timeout + "; killed it. Its output:\n"
                        + Files.readString(output, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
