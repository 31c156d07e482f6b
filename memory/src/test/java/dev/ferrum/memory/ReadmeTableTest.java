package dev.ferrum.memory;

import dev.ferrum.testsupport.ReadmeTable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

/**
 * The README bad-input table check of ferrum-test-support ({@link ReadmeTable}), on a fixture README: it compares
 * every cell, refuses rows naming no existing test class, and after a full run of a class refuses rows the class
 * names but did not perform; a partial run checks only what it recorded. Lives here because this module has the
 * engine test kit (test-support itself has no tests).
 */
class ReadmeTableTest {
    /** A fixture repository: a README and the test class its second row names. */
    private static final Path REPO = Path.of("target/readme-table-fixture").toAbsolutePath();
    private static final Path README = REPO.resolve("README.md");

    @BeforeAll
    static void writeFixtureRepository() throws IOException {
        Files.createDirectories(REPO.resolve("other/src/test/java/x"));
        Files.writeString(REPO.resolve("other/src/test/java/x/OtherTest.java"), "class OtherTest {}\n");
    }

    private static void readme(String... rows) throws IOException {
        Files.writeString(README, "# fixture\n\n| bad input | what is tried | the exception and its message | "
                + "performed by |\n|---|---|---|---|\n" + String.join("\n", rows) + "\n\nafter the table\n");
    }

    private static final String NEGATIVE = "| negative size | `allocate(-1)` | `` IllegalArgumentException: size -1 "
            + "is negative `` | `Fixture` |";
    private static final String PIPE = "| a pipe | `a \\| b` | `` IllegalStateException: x \\| y `` | `Fixture` |";
    private static final String OTHERS = "| not ours | something | `` IllegalStateException: theirs `` | `OtherTest` |";

    /** Performs two bad inputs; run only through the engine below (not a *Test class). */
    static final class Fixture {
        @RegisterExtension
        static final ReadmeTable TABLE = new ReadmeTable(Fixture.class, README);

        @Test
        void negativeSize() {
            TABLE.row("negative size", "`allocate(-1)`", new IllegalArgumentException("size -1 is negative"));
        }

        @Test
        void pipe() {
            TABLE.row("a pipe", "`a | b`", new IllegalStateException("x | y"));
        }
    }

    private static EngineExecutionResults run(org.junit.platform.engine.DiscoverySelector selector) {
        return EngineTestKit.engine("junit-jupiter").selectors(selector).execute();
    }

    private static String classFailure(EngineExecutionResults r) {
        assertEquals(1, r.containerEvents().failed().count(), "the class, after all its tests, fails");
        return r.containerEvents().failed().list().getFirst().getPayload(TestExecutionResult.class).orElseThrow()
                .getThrowable().orElseThrow().getMessage();
    }

    @Test
    void aFullRunThatMatchesEveryRowPasses() throws IOException {
        readme(NEGATIVE, OTHERS, PIPE);
        EngineExecutionResults r = run(selectClass(Fixture.class));
        assertEquals(2, r.testEvents().succeeded().count());
        assertEquals(0, r.containerEvents().failed().count(), "rows of another test class are not ours to perform");
    }

    @Test
    void aFullRunFailsOnARowItNamesButDoesNotPerform() throws IOException {
        readme(NEGATIVE, PIPE, "| ghost | never tried | `` IllegalStateException: nobody `` | `Fixture` |");
        String message = classFailure(run(selectClass(Fixture.class)));
        assertTrue(message.contains("ghost: README names `Fixture`, which ran in full and performed no such bad "
                + "input"), message);
    }

    @Test
    void aPartialRunChecksOnlyTheRowsItRecorded() throws IOException {
        readme(NEGATIVE, PIPE, "| ghost | never tried | `` IllegalStateException: nobody `` | `Fixture` |");
        EngineExecutionResults r = run(selectMethod(Fixture.class, "negativeSize"));
        assertEquals(1, r.testEvents().succeeded().count());
        assertEquals(0, r.containerEvents().failed().count(), "pipe() did not run, so 'ghost' may be its row");
    }

    @Test
    void everyCellIsCompared() throws IOException {
        readme(NEGATIVE.replace("`allocate(-1)`", "`allocate(-2)`"), PIPE);
        String message = classFailure(run(selectClass(Fixture.class)));
        assertTrue(message.contains("negative size: README has [negative size, `allocate(-2)`,"), message);
        assertTrue(message.contains("| negative size | `allocate(-1)` | `` IllegalArgumentException: size -1 is "
                + "negative `` | `Fixture` |"), "prints the row to paste: " + message);

        readme(NEGATIVE.replace("`Fixture`", "`OtherTest`"), PIPE);
        message = classFailure(run(selectClass(Fixture.class)));
        assertTrue(message.contains("negative size: README has [negative size, `allocate(-1)`, `` "
                + "IllegalArgumentException: size -1 is negative ``, `OtherTest`]"), message);
    }

    @Test
    void aRowNamingNoExistingTestClassFails() throws IOException {
        readme(NEGATIVE, PIPE, "| orphan | x | `` IllegalStateException: y `` | `NoSuchTest` |");
        ReadmeTable table = new ReadmeTable(Fixture.class, README);
        AssertionError e = assertThrows(AssertionError.class, table::verify);
        assertTrue(e.getMessage().contains("orphan: README names `NoSuchTest` as the test that performs it, but no "
                + "such test class exists"), e.getMessage());
    }

    @Test
    void aMalformedOrDuplicatedRowIsRefusedByName() throws IOException {
        readme(NEGATIVE, "| three cells | x | `` E: y `` |");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new ReadmeTable(Fixture.class, README).verify());
        assertTrue(e.getMessage().contains("README.md:6: a bad-input row needs 4 cells"), e.getMessage());

        readme(NEGATIVE, NEGATIVE);
        e = assertThrows(IllegalStateException.class, () -> new ReadmeTable(Fixture.class, README).verify());
        assertTrue(e.getMessage().contains("README.md:6: a second row for 'negative size'"), e.getMessage());
    }
}
