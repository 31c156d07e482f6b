package dev.ferrum.example;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What users install: the BOM names every library artifact at the project's version, and every library module
 * publishes sources and javadoc. ({@code examples/consumer/check.sh} then proves the installed artifacts work.)
 */
class ArtifactsTest {
    private static final Path ROOT = GuideSnippetsTest.ROOT;

    /**
     * A pom, or part of one, as text without comments. Ferrum's poms are plain enough to read with patterns (and
     * the tests' module, running patched into dev.ferrum.example, does not read java.xml).
     */
    private record Pom(String xml) {
        static Pom of(Path file) throws IOException {
            return new Pom(Files.readString(file).replaceAll("(?s)<!--.*?-->", ""));
        }

        /** {@return the elements {@code name} directly or indirectly inside this one, in order} */
        List<Pom> all(String name) {
            List<Pom> out = new ArrayList<>();
            Matcher m = Pattern.compile("(?s)<" + name + ">(.*?)</" + name + ">").matcher(xml);
            while (m.find()) {
                out.add(new Pom(m.group(1)));
            }
            return out;
        }

        Optional<Pom> child(String name) {
            List<Pom> a = all(name);
            return a.isEmpty() ? Optional.empty() : Optional.of(a.getFirst());
        }

        /** {@return the text of element {@code name} outside nested {@code parent}/{@code dependencies}, or ""} */
        String text(String name) {
            String top = xml.replaceAll("(?s)<(parent|dependencyManagement|dependencies|build|modules)>.*?</\\1>", "");
            Matcher m = Pattern.compile("(?s)<" + Pattern.quote(name) + ">(.*?)</" + Pattern.quote(name) + ">")
                    .matcher(top);
            return m.find() ? m.group(1).strip() : "";
        }
    }

    /** {@return the artifact IDs of group dev.ferrum in a pom's dependencyManagement, with their versions} */
    private static TreeSet<String> managedFerrumArtifacts(Pom pom) {
        TreeSet<String> out = new TreeSet<>();
        for (Pom dep : pom.child("dependencyManagement").orElseThrow().all("dependency")) {
            if (dep.text("groupId").equals("dev.ferrum")) {
                out.add(dep.text("artifactId") + ":" + dep.text("version"));
            }
        }
        return out;
    }

    private static List<String> modules(Pom root) {
        return root.child("modules").orElseThrow().all("module").stream().map(m -> m.xml().strip()).toList();
    }

    /** {@return the library modules: those of the root pom that are installed with sources and javadoc} */
    private static TreeSet<String> libraryArtifacts() throws IOException {
        TreeSet<String> out = new TreeSet<>();
        for (String module : modules(Pom.of(ROOT.resolve("pom.xml")))) {
            Pom pom = Pom.of(ROOT.resolve(module).resolve("pom.xml"));
            Pom properties = pom.child("properties").orElse(new Pom(""));
            if (!pom.text("packaging").equals("pom")
                    && !properties.text("maven.javadoc.skip").equals("true")
                    && !properties.text("maven.install.skip").equals("true")) {
                out.add(pom.text("artifactId") + ":${project.version}");
            }
        }
        return out;
    }

    @Test
    void theBomHasTheProjectVersionAndNamesEveryLibraryArtifact() throws IOException {
        Pom root = Pom.of(ROOT.resolve("pom.xml"));
        Pom bom = Pom.of(ROOT.resolve("bom/pom.xml"));
        assertEquals("ferrum-bom", bom.text("artifactId"));
        assertEquals("pom", bom.text("packaging"));
        assertEquals(root.text("version"), bom.text("version"), "bom/pom.xml's version must be the project's");
        assertTrue(bom.child("parent").isEmpty(), "the BOM must not inherit ferrum-parent's dependencyManagement");
        TreeSet<String> libraries = libraryArtifacts();
        assertEquals(new TreeSet<>(List.of("ferrum-agx:${project.version}", "ferrum-driver-api:${project.version}",
                "ferrum-memory:${project.version}", "ferrum-native:${project.version}",
                "ferrum-nvme:${project.version}")), libraries, "the library modules of the root pom");
        assertEquals(libraries, managedFerrumArtifacts(bom), "the BOM's dependencyManagement");
        assertEquals(libraries, managedFerrumArtifacts(root), "the root pom's dependencyManagement");
        assertTrue(modules(root).contains("bom"), "the BOM is built and installed");
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
        assertFalse(modules(Pom.of(ROOT.resolve("pom.xml"))).contains("examples/consumer"),
                "the consumer is not part of the reactor: it builds against installed artifacts");
    }
}
