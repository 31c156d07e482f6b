package dev.ferrum.example;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ChildProcess}: the exit status and both output streams of a child, and a clear failure for a hung one. */
class ChildProcessTest {
    private static final Path DIR = Path.of(System.getProperty("java.io.tmpdir"));

    @Test
    void returnsTheExitStatusAndTheOutputOfBothStreams() throws Exception {
        ChildProcess.Result r = ChildProcess.run(DIR, Duration.ofSeconds(30),
                List.of("bash", "-c", "echo out; echo err >&2; exit 3"));
        assertEquals(3, r.status());
        assertEquals("out\nerr\n", r.output());
    }

    @Test
    void aChildThatDoesNotExitInTimeIsKilledAndFailsWithItsOutput() {
        // exec: the shell becomes the sleep, so killing it leaves no grandchild holding anything open.
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> ChildProcess.run(DIR,
                Duration.ofMillis(500), List.of("bash", "-c", "echo started; exec sleep 60")));
        assertTrue(e.getMessage().contains("did not exit within PT0.5S; killed it"), e.getMessage());
        assertTrue(e.getMessage().contains("started"), e.getMessage());
    }
}
