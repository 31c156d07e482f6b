package dev.ferrum.quality;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.ferrum.quality.fixture.RawOutsideInternal;
import dev.ferrum.quality.fixture.UnsafeOutsideInternal;
import dev.ferrum.quality.fixture.internal.RawInsideInternal;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
                "dev.ferrum.driver.pci.PciDevice", "dev.ferrum.nvme.NvmeController", "dev.ferrum.agx.AgxDevice",
                "dev.ferrum.bench.internal.Raw", "dev.ferrum.example.checksum.ChecksumDriver"}) {
            assertTrue(ferrum.contain(witness), witness + " was not imported");
        }
        // Every allowed package exists: the list names real packages, not a pattern that may grow by accident.
        for (String allowed : RawMemoryQuarantine.ALLOWED) {
            String pkg = allowed.endsWith("..") ? allowed.substring(0, allowed.length() - 2) : allowed;
            assertTrue(ferrum.stream().anyMatch(c -> c.getPackageName().equals(pkg)),
                    "allowed package " + pkg + " has no class: remove it from RawMemoryQuarantine.ALLOWED");
        }
        RawMemoryQuarantine.check(ferrum);
    }

    @Test
    void everyRawCallInMainSourcesHasASafetyComment() {
        List<Path> mains = RawMemoryQuarantine.mainSourceRoots(ROOT);
        for (String module : new String[] {"native", "memory", "driver-api", "nvme-userspace", "gpu-agx-stub",
                "bench", "examples/driver", "test-support"}) {
            assertTrue(mains.contains(ROOT.resolve(module).resolve("src/main/java")),
                    module + "'s sources are not scanned: " + mains);
        }
        List<String> missing = new ArrayList<>();
        for (Path main : mains) {
            missing.addAll(RawMemoryQuarantine.unjustified(main));
        }
        assertEquals(List.of(), missing, "raw operations without a // SAFETY: comment within "
                + RawMemoryQuarantine.WINDOW + " lines above");
    }

    @Test
    void theSourceScanFindsEveryKindOfRawOperationWithoutAComment() {
        List<String> planted = List.of(
                "class Planted {",
                "    static final Linker L = Linker.nativeLinker();",
                "    static final MethodHandle H = L.downcallHandle(symbol, descriptor);",
                "    static MemorySegment stub = L.upcallStub(target, descriptor, arena);",
                "    static final sun.misc.Unsafe U = unsafe();",
                "    int f(long a, MemorySegment s) throws Throwable {",
                "        U.putInt(a, 1);",
                "        s = s.reinterpret(64);",
                "        s = MemorySegment.ofAddress(a);",
                "        return (int) H.invokeExact(s);",
                "    }",
                "}");
        List<String> found = RawMemoryQuarantine.unjustified("Planted.java", planted);
        assertEquals(List.of(2, 3, 4, 5, 7, 8, 9, 10), found.stream()
                .map(f -> Integer.parseInt(f.split(":")[1])).toList(), found.toString());
        assertTrue(found.getFirst().startsWith("Planted.java:2: static final Linker L = Linker.nativeLinker();"),
                found.toString());
    }

    @Test
    void aSafetyCommentCoversItsLineAndTheThreeBelowOnly() {
        List<String> commented = List.of(
                "// SAFETY: the fixture's reason.",
                "a = s.reinterpret(1);",
                "b = 0;",
                "c = 0;",
                "d = s.reinterpret(2);",
                "e = s.reinterpret(3); // SAFETY: on the line itself.");
        List<String> found = RawMemoryQuarantine.unjustified("C.java", commented);
        assertEquals(List.of("C.java:5: d = s.reinterpret(2);"), found);
    }

    @Test
    void commentsStringsImportsAndInvokeOutsideADowncallFileAreNotRawOperations() {
        List<String> harmless = List.of(
                "import sun.misc.Unsafe;",
                "/** Through {@code sun.misc.Unsafe} or {@code s.reinterpret(n)}. */",
                "/* MemorySegment.ofAddress(0) */ String s = \"Unsafe, Linker.nativeLinker()\";",
                "String t = \"\"\"",
                "    text block: x.reinterpret(1), U.putInt(0, 1)",
                "    \"\"\";",
                "Object r = method.invoke(null); // reflection, not a downcall: no downcallHandle in this file",
                "char q = '\"'; int u = 0; // after a quote char the rest is still code");
        assertEquals(List.of(), RawMemoryQuarantine.unjustified("Harmless.java", harmless));
        assertEquals(List.of(), RawMemoryQuarantine.unjustified("Generated.java",
                List.of("// Generated by jextract", "x = s.reinterpret(8);")), "jextract output is exempt");
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
    void anInternalPackageThatIsNotListedFailsToo() {
        JavaClasses fixture = new ClassFileImporter().importClasses(RawInsideInternal.class);
        AssertionError e = assertThrows(AssertionError.class, () -> RawMemoryQuarantine.check(fixture));
        assertTrue(e.getMessage().contains("RawInsideInternal.java:"), e.getMessage());
    }

    @Test
    void theListedPackagesMayUseRawMemory() {
        // Real users of reinterpret/ofAddress, Linker and Unsafe, one per kind of allowed package.
        RawMemoryQuarantine.RULE.allowEmptyShould(true).check(new ClassFileImporter().importClasses(
                dev.ferrum.sys.Syscalls.class,
                dev.ferrum.memory.internal.PageMemory.class, dev.ferrum.bench.internal.Raw.class));
    }

    @Test
    void rawCallsWithoutSafetyCommentInTheFixtureFilesAreFound() {
        Path fixtures = Path.of("src/test/java/dev/ferrum/quality/fixture");
        List<String> missing = RawMemoryQuarantine.unjustified(fixtures);
        assertEquals(3, missing.size(), missing.toString());
        assertTrue(missing.get(0).contains("RawOutsideInternal.java") && missing.get(0).contains("ofAddress"),
                missing.toString());
        assertTrue(missing.get(1).contains("UnsafeOutsideInternal.java") && missing.get(1).contains("nativeLinker"),
                missing.toString());
        assertTrue(missing.get(2).contains("UnsafeOutsideInternal.java") && missing.get(2).contains("Unsafe.class"),
                missing.toString());
    }
}
