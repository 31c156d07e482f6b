package dev.ferrum.example;

import dev.ferrum.example.Poms.Pom;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What users install: the BOM names every library artifact at the project's version, and every library module
 * publishes sources and javadoc. ({@code examples/consumer/check.sh} then proves the installed artifacts work.)
 */
class ArtifactsTest {
    private static final Path ROOT = GuideSnippetsTest.ROOT;

    @Test
    void theBomHasTheProjectVersionAndNamesEveryLibraryArtifact() throws IOException {
        Pom root = Pom.of(ROOT.resolve("pom.xml"));
        Pom bom = Pom.of(ROOT.resolve("bom/pom.xml"));
        assertEquals("ferrum-bom", bom.text("artifactId"));
        assertEquals("pom", bom.text("packaging"));
        assertEquals(root.text("version"), bom.text("version"), "bom/pom.xml's version must be the project's");
        assertTrue(bom.child("parent").isEmpty(), "the BOM must not inherit ferrum-parent's dependencyManagement");
        TreeSet<String> libraries = Poms.libraryArtifacts();
        assertEquals(new TreeSet<>(List.of("ferrum-agx:${project.version}", "ferrum-driver-api:${project.version}",
                "ferrum-memory:${project.version}", "ferrum-native:${project.version}",
                "ferrum-nvme:${project.version}")), libraries, "the library modules of the root pom");
        assertEquals(libraries, Poms.managedFerrumArtifacts(bom), "the BOM's dependencyManagement");
        // The root pom also manages the test infrastructure its modules use (the leak-check extension); that is
        // not a library and not in the BOM.
        TreeSet<String> rootManaged = new TreeSet<>(Poms.managedFerrumArtifacts(root));
        rootManaged.remove("ferrum-test-support:${project.version}");
        assertEquals(libraries, rootManaged, "the root pom's dependencyManagement");
        assertTrue(Poms.modules(root).contains("bom"), "the BOM is built and installed");
    }

    @Test
    void theConsumerCheckLooksForEveryArtifactOfTheBom() throws Exception {
        ChildProcess.Result check = ChildProcess.run(ROOT, Duration.ofSeconds(60),
                List.of("bash", "examples/consumer/check.sh", "--list-artifacts"));
        assertEquals(0, check.status(), check.output());
        TreeSet<String> listed = new TreeSet<>();
        check.output().lines().forEach(a -> listed.add(a + ":${project.version}"));
        assertEquals(Poms.managedFerrumArtifacts(Pom.of(ROOT.resolve("bom/pom.xml"))), listed,
                "the artifacts whose jar, -sources.jar and -javadoc.jar check.sh requires");
    }

    @Test
    void theConsumerProjectImportsTheBomAtTheProjectVersion() throws IOException {
        Pom consumer = Pom.of(ROOT.resolve("examples/consumer/pom.xml"));
        assertTrue(consumer.child("parent").isEmpty(), "it uses Ferrum as an outside project would");
        assertEquals(Pom.of(ROOT.resolve("pom.xml")).text("version"),
                consumer.child("properties").orElseThrow().text("ferrum.version"));
        Pom management = consumer.child("dependencyManagement").orElseThrow();
        Pom imported = management.all("dependency").getFirst();
        assertEquals("ferrum-bom", imported.text("artifactId"));
        assertEquals("import", imported.text("scope"));
        String direct = consumer.xml().replaceAll("(?s)<dependencyManagement>.*?</dependencyManagement>", "");
        List<Pom> dependencies = new Pom(direct).all("dependency");
        assertTrue(dependencies.stream().anyMatch(d -> d.text("artifactId").equals("ferrum-nvme")));
        for (Pom dep : dependencies) {
            if (dep.text("groupId").equals("dev.ferrum")) {
                assertEquals("", dep.text("version"), "the BOM gives the version of " + dep.text("artifactId"));
            }
        }
        assertFalse(Poms.modules(Pom.of(ROOT.resolve("pom.xml"))).contains("examples/consumer"),
                "the consumer is not part of the reactor: it builds against installed artifacts");
    }
}
