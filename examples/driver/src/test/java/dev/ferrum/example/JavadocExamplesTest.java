package dev.ferrum.example;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Javadoc's examples are compiled code: every package a library module exports documents itself with at least
 * one {@code {@snippet class=... region=...}}, every such snippet names a region that exists in the snippet path
 * (the module's tests, the example driver and its tests, as the root pom's javadoc configuration says), and no
 * library source has an inline Java {@code {@snippet :} block, which nothing would compile. Javadoc itself fails on a
 * missing region at {@code package}; this test says it at {@code test}, for every module at once.
 */
class JavadocExamplesTest {
    private static final Path ROOT = GuideSnippetsTest.ROOT;
    private static final Pattern EXPORT = Pattern.compile("(?m)^\\s*exports\\s+([\\w.]+)\\s*;");
    private static final Pattern EXTERNAL = Pattern.compile("\\{@snippet\\s+class=([\\w.]+)\\s+region=([\\w.-]+)\\s*}");
    /** An inline snippet of Java; jextract's {@code lang=c} snippets quote C declarations and are exempt. */
    private static final Pattern INLINE = Pattern.compile("\\{@snippet(?![^}:]*lang=c)[^}:]*:");

    private static List<Path> snippetPath(String module) {
        return List.of(ROOT.resolve(module).resolve("src/test/java"), ROOT.resolve("examples/driver/src/main/java"),
                ROOT.resolve("examples/driver/src/test/java"));
    }

    private static List<Path> mainSources(String module) throws IOException {
        Path main = ROOT.resolve(module).resolve("src/main/java");
        if (!Files.isDirectory(main)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(main)) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }

    @Test
    void everyExportedPackageHasACompiledExample() throws IOException {
        List<String> missing = new ArrayList<>();
        int packages = 0;
        for (String module : Poms.libraryModules()) {
            Path descriptor = ROOT.resolve(module).resolve("src/main/java/module-info.java");
            if (!Files.isRegularFile(descriptor)) {
                continue;
            }
            Matcher m = EXPORT.matcher(Files.readString(descriptor));
            while (m.find()) {
                packages++;
                Path info = ROOT.resolve(module).resolve("src/main/java").resolve(m.group(1).replace('.', '/'))
                        .resolve("package-info.java");
                if (!Files.isRegularFile(info) || !EXTERNAL.matcher(Files.readString(info)).find()) {
                    missing.add(module + ": " + m.group(1));
                }
            }
        }
        assertEquals(List.of(), missing, "exported packages whose package-info.java has no {@snippet class=... "
                + "region=...} (write the example as a test in examples/driver/src/test/java/dev/ferrum/example/"
                + "javadoc and name its region)");
        assertTrue(packages >= 9, "only " + packages + " exported packages found: memory 1, driver 6, nvme 2 today");
    }

    @Test
    void everySnippetOfTheLibrariesNamesARegionThatExists() throws IOException {
        List<String> problems = new ArrayList<>();
        int snippets = 0;
        for (String module : Poms.libraryModules()) {
            for (Path source : mainSources(module)) {
                String text = Files.readString(source);
                String where = ROOT.relativize(source).toString();
                if (INLINE.matcher(text).find()) {
                    problems.add(where + ": an inline {@snippet :} block is never compiled; use class=... region=...");
                }
                Matcher m = EXTERNAL.matcher(text);
                while (m.find()) {
                    snippets++;
                    String file = m.group(1).replace('.', '/') + ".java";
                    Path found = snippetPath(module).stream().map(p -> p.resolve(file)).filter(Files::isRegularFile)
                            .findFirst().orElse(null);
                    if (found == null) {
                        problems.add(where + ": no " + file + " in the snippet path of " + module);
                        continue;
                    }
                    Map<String, String> regions = Snippets.regions(Files.readString(found), file);
                    if (!regions.containsKey(m.group(2))) {
                        problems.add(where + ": " + file + " has no region \"" + m.group(2) + "\"");
                    }
                }
            }
        }
        assertEquals(List.of(), problems);
        assertTrue(snippets >= 30, "only " + snippets + " snippets found: the pattern does not match them");
    }
}
