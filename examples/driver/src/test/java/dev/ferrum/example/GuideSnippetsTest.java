package dev.ferrum.example;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The documentation cannot drift from the code: every fenced block of {@code README.md} and {@code docs/*.md} that
 * a {@code <!-- snippet: path#region -->} line introduces must equal that region of that file, and every Java
 * block of the driver-writing guide must be such a block (so all its code is compiled, and run by
 * {@code ChecksumDriverTest}).
 *
 * <p>After changing the example, rewrite the blocks from the sources and review the diff:
 * {@code mvn -B -q -pl examples/driver -am verify -Dferrum.docs.update=true}.
 */
class GuideSnippetsTest {
    static final Path ROOT = repositoryRoot();
    static final String GUIDE = "docs/writing-a-driver.md";
    private static final boolean UPDATE = Boolean.getBoolean("ferrum.docs.update");

    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(GUIDE)) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("no " + GUIDE + " above " + Path.of("").toAbsolutePath());
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The markdown documents whose marked blocks are checked. */
    static List<Path> documents() throws IOException {
        List<Path> docs = new ArrayList<>();
        docs.add(ROOT.resolve("README.md"));
        try (Stream<Path> s = Files.list(ROOT.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        return docs;
    }

    /** {@return the region a marked block names, or a message saying why there is none} */
    private static String regionText(Snippets.Block b, String doc, List<String> problems) {
        Path source = ROOT.resolve(b.path());
        if (!Files.isRegularFile(source)) {
            problems.add(doc + ":" + (b.fence() + 1) + ": " + b.path() + " does not exist");
            return null;
        }
        Map<String, String> regions = Snippets.regions(read(source), b.path());
        String text = regions.get(b.region());
        if (text == null) {
            problems.add(doc + ":" + (b.fence() + 1) + ": " + b.path() + " has no region \"" + b.region()
                    + "\" (it has " + regions.keySet() + ")");
        }
        return text;
    }

    /** {@return the problems of one document: missing regions, and blocks that differ, with a diff} */
    static List<String> check(String markdown, String doc) {
        List<String> problems = new ArrayList<>();
        for (Snippets.Block b : Snippets.blocks(markdown, doc)) {
            if (!b.marked()) {
                continue;
            }
            String expected = regionText(b, doc, problems);
            if (expected != null && !expected.equals(b.body())) {
                problems.add(doc + ":" + (b.fence() + 1) + ": the block differs from " + b.path() + "#" + b.region()
                        + " (\"- \" only in the source, \"+ \" only in the document). Fix the source, or rewrite the "
                        + "blocks from the sources: mvn -B -q -pl examples/driver -am verify "
                        + "-Dferrum.docs.update=true\n" + Snippets.diff(expected, b.body()));
            }
        }
        return problems;
    }

    @Test
    void everyMarkedBlockOfTheDocumentationEqualsItsRegion() throws IOException {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path doc : documents()) {
            String name = ROOT.relativize(doc).toString();
            String markdown = read(doc);
            if (UPDATE) {
                String updated = Snippets.rewrite(markdown, name, b -> {
                    String text = regionText(b, name, problems);
                    return text != null ? text : b.body();
                });
                if (!updated.equals(markdown)) {
                    Files.writeString(doc, updated);
                    markdown = updated;
                }
            }
            problems.addAll(check(markdown, name));
            checked += (int) Snippets.blocks(markdown, name).stream().filter(Snippets.Block::marked).count();
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " documentation block(s) do not match the code:\n" + String.join("\n", problems));
        }
        assertTrue(checked >= 15, "only " + checked + " marked blocks found: the markers are not recognized");
    }

    @Test
    void everyJavaBlockOfTheGuideComesFromCompiledCode() {
        String guide = read(ROOT.resolve(GUIDE));
        List<String> unmarked = new ArrayList<>();
        for (Snippets.Block b : Snippets.blocks(guide, GUIDE)) {
            if (b.lang().equals("java") && !b.marked()) {
                unmarked.add(GUIDE + ":" + (b.fence() + 1));
            }
        }
        assertEquals(List.of(), unmarked, "Java blocks without a <!-- snippet: path#region --> line before them");
    }

    @Test
    void everyRegionOfTheExampleDriverIsShownByTheGuide() throws IOException {
        String guide = read(ROOT.resolve(GUIDE));
        List<String> unused = new ArrayList<>();
        try (Stream<Path> sources = Files.walk(ROOT.resolve("examples/driver/src"))) {
            for (Path p : sources.filter(f -> f.toString().endsWith(".java")
                    && f.toString().contains("/dev/ferrum/example/checksum/")).sorted().toList()) {
                String path = ROOT.relativize(p).toString();
                for (String region : Snippets.regions(read(p), path).keySet()) {
                    if (!guide.contains("<!-- snippet: " + path + "#" + region + " -->")) {
                        unused.add(path + "#" + region);
                    }
                }
            }
        }
        assertEquals(List.of(), unused, "regions of the example that the guide does not show (show them, or "
                + "drop the markers)");
    }

    // ---- The checker itself ----

    @Test
    void regionsNestDropTheirMarkersAndLoseTheirCommonIndentation() {
        String source = String.join("\n",
                "class A {",
                "    // @start region=\"outer\"",
                "    void f() {",
                "        // @start region=inner",
                "        g();",
                "        // @end",
                "    }",
                "    // @end region=\"outer\"",
                "    <!-- @start region=\"xml\" -->",
                "    <a/>",
                "    <!-- @end -->",
                "}");
        Map<String, String> r = Snippets.regions(source, "A.java");
        assertEquals(List.of("outer", "inner", "xml"), List.copyOf(r.keySet()));
        assertEquals("void f() {\n    g();\n}\n", r.get("outer"));
        assertEquals("g();\n", r.get("inner"));
        assertEquals("<a/>\n", r.get("xml"));
    }

    @Test
    void malformedRegionsAreReportedWithTheirLine() {
        IllegalArgumentException open = assertThrows(IllegalArgumentException.class,
                () -> Snippets.regions("// @start region=a\nx\n", "A.java"));
        assertEquals("A.java: region \"a\" has no @end", open.getMessage());
        IllegalArgumentException end = assertThrows(IllegalArgumentException.class,
                () -> Snippets.regions("x\n// @end\n", "A.java"));
        assertEquals("A.java:2: @end closes no open region", end.getMessage());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> Snippets.regions("// @start region=a\n// @end\n// @start region=a\n// @end\n", "A.java"));
        assertEquals("A.java:3: region \"a\" is defined twice", twice.getMessage());
    }

    @Test
    void aBlockThatDriftedFromItsRegionFailsWithADiff() {
        String path = "examples/driver/src/main/java/dev/ferrum/example/checksum/ChecksumDriver.java";
        String good = Snippets.regions(read(ROOT.resolve(path)), path).get("id-table");
        String drifted = good.replace("\"ferrum-checksum\"", "\"checksum\"");
        String markdown = "# T\n\n<!-- snippet: " + path + "#id-table -->\n```java\n" + drifted + "```\n";
        List<String> problems = check(markdown, "t.md");
        assertEquals(1, problems.size(), problems.toString());
        String p = problems.getFirst();
        assertTrue(p.startsWith("t.md:4: the block differs from " + path + "#id-table"), p);
        assertTrue(p.contains("\n-     return \"ferrum-checksum\";\n+     return \"checksum\";\n"), p);
        assertEquals(List.of(), check(markdown.replace(drifted, good), "t.md"));

        String rewritten = Snippets.rewrite(markdown, "t.md", b -> good);
        assertEquals(markdown.replace(drifted, good), rewritten, "update mode restores the block");
        List<String> missing = check("<!-- snippet: " + path + "#nope -->\n```java\nx\n```\n", "t.md");
        assertTrue(missing.getFirst().contains("has no region \"nope\""), missing.toString());
    }

    @Test
    void aMarkerMustIntroduceABlock() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Snippets.blocks("<!-- snippet: a.java#x -->\n\n```java\n```\n", "t.md"));
        assertEquals("t.md:1: a snippet marker must be followed directly by a fenced block", e.getMessage());
        assertFalse(Snippets.blocks("```bash\nls\n```\n", "t.md").getFirst().marked());
    }
}
