package dev.ferrum.example;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The repository's Maven poms, read for the tests of what Ferrum publishes. */
final class Poms {
    static final Path ROOT = GuideSnippetsTest.ROOT;

    private Poms() {}

    /**
     * A pom, or part of one, as text without comments. Ferrum's poms are plain enough to read with patterns (and
     * the tests' module, running patched into dev.ferrum.example, does not read java.xml).
     */
    record Pom(String xml) {
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
    static TreeSet<String> managedFerrumArtifacts(Pom pom) {
        TreeSet<String> out = new TreeSet<>();
        for (Pom dep : pom.child("dependencyManagement").orElseThrow().all("dependency")) {
            if (dep.text("groupId").equals("dev.ferrum")) {
                out.add(dep.text("artifactId") + ":" + dep.text("version"));
            }
        }
        return out;
    }

    static List<String> modules(Pom root) {
        return root.child("modules").orElseThrow().all("module").stream().map(m -> m.xml().strip()).toList();
    }

    /** {@return the directories of the library modules: those installed with sources and javadoc} */
    static List<String> libraryModules() throws IOException {
        List<String> out = new ArrayList<>();
        for (String module : modules(Pom.of(ROOT.resolve("pom.xml")))) {
            Pom pom = Pom.of(ROOT.resolve(module).resolve("pom.xml"));
            Pom properties = pom.child("properties").orElse(new Pom(""));
            if (!pom.text("packaging").equals("pom")
                    && !properties.text("maven.javadoc.skip").equals("true")
                    && !properties.text("maven.install.skip").equals("true")) {
                out.add(module);
            }
        }
        return out;
    }

    /** {@return the artifacts of the library modules, as {@code artifactId:${project.version}}} */
    static TreeSet<String> libraryArtifacts() throws IOException {
        TreeSet<String> out = new TreeSet<>();
        for (String module : libraryModules()) {
            out.add(Pom.of(ROOT.resolve(module).resolve("pom.xml")).text("artifactId") + ":${project.version}");
        }
        return out;
    }
}
