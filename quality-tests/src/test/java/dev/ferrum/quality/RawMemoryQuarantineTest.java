package dev.ferrum.quality;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.ferrum.quality.fixture.RawOutsideInternal;
import dev.ferrum.quality.fixture.UnsafeOutsideInternal;
import dev.ferrum.quality.fixture.internal.RawInsideInternal;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The raw-memory quarantine over every Ferrum module, and proof on fixtures that it fails what it should. */
class RawMemoryQuarantineTest {
    /** The repository root: quality-tests/ is one of its modules (surefire runs in the module directory). */
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void noFerrumClassUsesRawMemoryOutsideTheAllowedPackages() {
        JavaClasses ferrum = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.ferrum");
        // The import must see every module, or the rule checks nothing: one class of each as a witness.
        for (String witness : new String[] {"dev.ferrum.sys.Syscalls", "dev.ferrum.memory.DmaBuffer",
                "dev.ferrum.driver.pci.PciDevice", "dev.ferrum.nvme.NvmeController"}) {
            assertTrue(ferrum.contain(witness), witness + " was not imported");
        }
        RawMemoryQuarantine.check(ferrum);
    }

    @Test
    void everyRawCallInMainSourcesHasASafetyComment() throws IOException {
        List<Path> mains;
        try (Stream<Path> modules = Files.list(ROOT)) {
            // bench is exempt, as in the before-stop hook: its raw-pointer baselines are the point of it.
            mains = modules.filter(m -> !m.getFileName().toString().equals("bench"))
                    .map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).sorted().toList();
        }
        assertTrue(mains.size() >= 4, "found the modules' sources under " + ROOT + ": " + mains);
        for (Path main : mains) {
            List<String> missing = RawMemoryQuarantine.unjustified(main);
            assertEquals(List.of(), missing, "raw memory calls without a // SAFETY: comment within 3 lines above");
        }
    }

    @Test
    void reinterpretAndOfAddressOutsideInternalFail() {
        JavaClasses fixture = new ClassFileImporter().importClasses(RawOutsideInternal.class);
        AssertionError e = assertThrows(AssertionError.class, () -> RawMemoryQuarantine.check(fixture));
        assertTrue(e.getMessage().contains("MemorySegment.ofAddress used in"), e.getMessage());
        assertTrue(e.getMessage().contains("MemorySegment.reinterpret used in"), e.getMessage());
        assertTrue(e.getMessage().contains("RawOutsideInternal.java:"), e.getMessage());
    }

    @Test
    void linkerAndUnsafeOutsideInternalFail() {
        JavaClasses fixture = new ClassFileImporter().importClasses(UnsafeOutsideInternal.class);
        AssertionError e = assertThrows(AssertionError.class, () -> RawMemoryQuarantine.check(fixture));
        assertTrue(e.getMessage().contains("java.lang.foreign.Linker"), e.getMessage());
        assertTrue(e.getMessage().contains("sun.misc.Unsafe"), e.getMessage());
    }

    @Test
    void theSameCallsInAnInternalPackagePass() {
        JavaClasses fixture = new ClassFileImporter().importClasses(RawInsideInternal.class, RawOutsideInternal.class);
        assertThrows(AssertionError.class, () -> RawMemoryQuarantine.check(fixture), "the outside one still fails");
        RawMemoryQuarantine.RULE.allowEmptyShould(true)
                .check(new ClassFileImporter().importClasses(RawInsideInternal.class));
    }

    @Test
    void aRawCallWithoutSafetyCommentIsFound() {
        Path fixtures = Path.of("src/test/java/dev/ferrum/quality/fixture");
        List<String> missing = RawMemoryQuarantine.unjustified(fixtures);
        assertEquals(1, missing.size(), missing.toString());
        assertTrue(missing.getFirst().contains("RawOutsideInternal.java") && missing.getFirst().contains("ofAddress"),
                missing.toString());
    }
}
