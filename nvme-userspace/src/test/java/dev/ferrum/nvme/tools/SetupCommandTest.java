package dev.ferrum.nvme.tools;

import dev.ferrum.driver.vfio.VfioException;
import dev.ferrum.driver.vfio.VfioSetup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ferrum nvme setup}: what it refuses before touching sysfs, and that it reaches the set-up tool. */
class SetupCommandTest {
    @TempDir
    Path root;

    /** Runs the command on a copy of sysfs/proc/dev under {@link #root}; returns the exception it ended with. */
    private Exception run(StringWriter err, String... args) throws Exception {
        for (String d : new String[] {"sys/bus/pci/devices", "proc", "dev"}) {
            Files.createDirectories(root.resolve(d));
        }
        SetupCommand command = new SetupCommand();
        command.setups = () -> VfioSetup.withRoots(root.resolve("sys"), root.resolve("proc"), root.resolve("dev"));
        AtomicReference<Exception> failure = new AtomicReference<>();
        CommandLine cl = new CommandLine(command).setErr(new PrintWriter(err, true))
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    failure.set(e);
                    return 1;
                });
        int status = cl.execute(args);
        if (failure.get() == null) {
            assertEquals(2, status, "a usage error: " + err);
        }
        return failure.get();
    }

    @Test
    void wildcardsAreRefusedAsNotExplicitlyNamedForEveryAction() throws Exception {
        for (String[] action : new String[][] {{}, {"--status"}, {"--reset"}}) {
            for (String wildcard : new String[] {"all", "ALL", " all "}) {
                String[] args = new String[action.length + 2];
                args[0] = "--pci";
                args[1] = wildcard;
                System.arraycopy(action, 0, args, 2, action.length);
                VfioException e = assertInstanceOf(VfioException.class, run(new StringWriter(), args));
                assertEquals(VfioException.Reason.NOT_EXPLICITLY_NAMED, e.reason(), e.getMessage());
                assertTrue(e.getMessage().contains("never all devices"), e.getMessage());
            }
        }
    }

    @Test
    void somethingThatIsNotAnAddressIsRefusedWithTheExpectedFormat() throws Exception {
        VfioException e = assertInstanceOf(VfioException.class, run(new StringWriter(), "--pci", "01:00"));
        assertEquals(VfioException.Reason.NOT_EXPLICITLY_NAMED, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("DDDD:BB:DD.F"), e.getMessage());
    }

    @Test
    void aNamedAddressReachesTheSetupTool() throws Exception {
        VfioException e = assertInstanceOf(VfioException.class,
                run(new StringWriter(), "--pci", "0000:05:00.0", "--status"));
        assertEquals(VfioException.Reason.DEVICE_NOT_FOUND, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("0000:05:00.0"), e.getMessage());
    }

    @Test
    void statusAndResetTogetherAreAUsageError() throws Exception {
        StringWriter err = new StringWriter();
        assertEquals(null, run(err, "--pci", "0000:05:00.0", "--status", "--reset"));
        assertTrue(err.toString().contains("--status and --reset exclude each other"), err.toString());
    }

    @Test
    void thePciOptionIsRequired() throws Exception {
        StringWriter err = new StringWriter();
        assertEquals(null, run(err));
        assertTrue(err.toString().contains("--pci"), err.toString());
    }
}
