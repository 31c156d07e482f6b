package dev.ferrum.example;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every relative link of the repository's markdown documents leads somewhere in a fresh clone: to a file or
 * directory that exists inside the repository and outside any build output ({@code target/}), and, for
 * {@code #anchor}s into a markdown document, to one of its headings (GitHub's heading IDs). Links in code blocks
 * and code spans are not links; {@code http(s):} and other URLs with a scheme are not checked.
 */
class DocLinksTest {
    private static final Path ROOT = GuideSnippetsTest.ROOT;

    /** {@code [text](dest "title")}, also images; the text may hold one level of brackets. */
    private static final Pattern INLINE = Pattern.compile("\\[(?:[^\\[\\]]|\\[[^\\]]*])*]\\(\\s*<?([^)\\s>]+)>?"
            + "(?:\\s+\"[^\"]*\")?\\s*\\)");
    /** {@code [label]: dest} */
    private static final Pattern DEFINITION = Pattern.compile("^ {0,3}\\[[^\\]]+]:\\s*<?(\\S+?)>?(?:\\s.*)?$");
    /** {@code href="dest"} and {@code src="dest"} of inline HTML. */
    private static final Pattern HTML = Pattern.compile("\\b(?:href|src)\\s*=\\s*\"([^\"]+)\"");
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");
    private static final Pattern CODE_SPAN = Pattern.compile("(`+)(?:(?!\\1).)+?\\1");
    private static final Pattern HEADING = Pattern.compile("^ {0,3}(#{1,6})\\s+(.*?)(?:\\s+#+)?\\s*$");

    /** {@return the committed markdown documents: every *.md outside build output and dot-directories} */
    static List<Path> markdownFiles(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.toString().endsWith(".md") && Files.isRegularFile(p))
                    .filter(p -> !skipped(root.relativize(p)))
                    .sorted().toList();
        }
    }

    private static boolean skipped(Path relative) {
        for (Path part : relative) {
            String name = part.toString();
            if (name.equals("target") || name.equals("node_modules") || name.startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A link destination and the line it is on (1-based). */
    record Link(int line, String destination) {}

    /** A line of a markdown document outside its fenced code blocks, and its number (1-based). */
    record ProseLine(int number, String text) {}

    /** An opening code fence: three or more backticks or tildes. */
    private static final Pattern FENCE_OPEN = Pattern.compile("^(`{3,}|~{3,})");

    /**
     * {@return the lines of {@code markdown} outside fenced code blocks, fences excluded} A block opens with three or
     * more backticks or tildes and closes only with a line of at least as many of the same character and nothing
     * else (as CommonMark has it), so a {@code ~~~} or a shorter fence inside a block is part of the block.
     */
    static List<ProseLine> outsideFences(String markdown) {
        List<ProseLine> prose = new ArrayList<>();
        String[] lines = markdown.split("\n", -1);
        String fence = null;                                    // the opening fence of the block we are in
        for (int i = 0; i < lines.length; i++) {
            String trimmed = lines[i].strip();
            if (fence != null) {
                char marker = fence.charAt(0);
                if (trimmed.length() >= fence.length() && trimmed.chars().allMatch(c -> c == marker)) {
                    fence = null;
                }
                continue;
            }
            Matcher open = FENCE_OPEN.matcher(trimmed);
            if (open.find()) {
                fence = open.group(1);
                continue;
            }
            prose.add(new ProseLine(i + 1, lines[i]));
        }
        return prose;
    }

    /** {@return the link destinations of {@code markdown}, outside fenced code blocks and code spans} */
    static List<Link> links(String markdown) {
        List<Link> links = new ArrayList<>();
        for (ProseLine line : outsideFences(markdown)) {
            String text = CODE_SPAN.matcher(line.text()).replaceAll("");
            for (Pattern p : List.of(INLINE, DEFINITION, HTML)) {
                Matcher m = p.matcher(text);
                while (m.find()) {
                    links.add(new Link(line.number(), m.group(1)));
                }
            }
        }
        return links;
    }

    /** {@return the IDs GitHub gives the headings of {@code markdown}: "## 7. Submitting a job" is #7-submitting-a-job} */
    static Set<String> anchors(String markdown) {
        Set<String> ids = new LinkedHashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        for (ProseLine line : outsideFences(markdown)) {
            Matcher m = HEADING.matcher(line.text());
            if (!m.matches()) {
                continue;
            }
            String text = m.group(2).replaceAll("\\[([^\\]]*)]\\([^)]*\\)", "$1").replaceAll("[`*]", "");
            String id = text.toLowerCase(java.util.Locale.ROOT).replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-');
            int n = seen.merge(id, 1, Integer::sum);
            ids.add(n == 1 ? id : id + "-" + (n - 1));
        }
        return ids;
    }

    /** What checking the links of a document found: how many links it has, and one message per broken one. */
    record LinkCheck(int links, List<String> problems) {}

    /** {@return how many links {@code doc} has, and what is wrong with its relative ones} */
    static LinkCheck checkLinks(Path root, Path doc) {
        List<String> problems = new ArrayList<>();
        String name = root.relativize(doc).toString();
        List<Link> links = links(read(doc));
        for (Link link : links) {
            String dest = link.destination();
            if (SCHEME.matcher(dest).find()) {
                continue;                                       // http:, https:, mailto: ...
            }
            String where = name + ":" + link.line() + ": link " + dest;
            int hash = dest.indexOf('#');
            String path = URLDecoder.decode(hash < 0 ? dest : dest.substring(0, hash), StandardCharsets.UTF_8);
            String anchor = hash < 0 ? null : dest.substring(hash + 1);
            Path target = path.isEmpty() ? doc : doc.getParent().resolve(path).normalize();
            if (!target.startsWith(root)) {
                problems.add(where + " leads outside the repository (to " + target + "): a clone does not have it");
                continue;
            }
            if (skipped(root.relativize(target))) {
                problems.add(where + " leads into build output or a hidden directory, which a clone does not have");
                continue;
            }
            if (!Files.exists(target)) {
                problems.add(where + ": " + root.relativize(target) + " does not exist");
                continue;
            }
            if (anchor != null && target.toString().endsWith(".md") && Files.isRegularFile(target)) {
                Set<String> ids = anchors(read(target));
                if (!ids.contains(anchor)) {
                    problems.add(where + ": " + root.relativize(target) + " has no heading with the ID #" + anchor
                            + " (it has " + ids + ")");
                }
            }
        }
        return new LinkCheck(links.size(), problems);
    }

    @Test
    void everyRelativeLinkOfTheRepositorysMarkdownResolves() throws IOException {
        List<Path> docs = markdownFiles(ROOT);
        assertTrue(docs.contains(ROOT.resolve("README.md")) && docs.contains(ROOT.resolve("docs/writing-a-driver.md")),
                "the walk found " + docs);
        List<String> problems = new ArrayList<>();
        int links = 0;
        for (Path doc : docs) {
            LinkCheck check = checkLinks(ROOT, doc);
            problems.addAll(check.problems());
            links += check.links();
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " broken link(s):\n" + String.join("\n", problems));
        }
        assertTrue(links >= 20, "only " + links + " links found: the link syntax is not recognized");
    }

    // ---- The checker itself ----

    @Test
    void aPlantedBrokenLinkIsReported(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("docs"));
        Files.writeString(root.resolve("docs/guide.md"), "# The guide\n\n## 2. Set-up, step by step\n");
        Path readme = root.resolve("README.md");
        Files.writeString(readme, String.join("\n",
                "# Project",
                "See [the guide](docs/guide.md), [set-up](docs/guide.md#2-set-up-step-by-step) and [top](#project).",
                "A [missing file](docs/missing.md), a [wrong anchor](docs/guide.md#setup), [outside](../elsewhere.md).",
                "Not links: `[code](docs/nope.md)` and [the web](https://example.org/x.md).",
                "```",
                "[in a block](docs/nope.md)",
                "```",
                "[def]: docs/gone.md",
                ""));
        LinkCheck check = checkLinks(root, readme);
        assertEquals(8, check.links(), "the links outside code, with or without a scheme");
        List<String> problems = check.problems();
        assertEquals(4, problems.size(), problems.toString());
        assertEquals("README.md:3: link docs/missing.md: docs/missing.md does not exist", problems.get(0));
        assertTrue(problems.get(1).startsWith("README.md:3: link docs/guide.md#setup: docs/guide.md has no heading "
                + "with the ID #setup (it has [the-guide, 2-set-up-step-by-step])"), problems.get(1));
        assertTrue(problems.get(2).startsWith("README.md:3: link ../elsewhere.md leads outside the repository"),
                problems.get(2));
        assertEquals("README.md:8: link docs/gone.md: docs/gone.md does not exist", problems.get(3));
    }

    @Test
    void headingIdsFollowGitHub() {
        assertEquals(Set.of("7-submitting-a-job", "the-iommu", "bad-input-and-the-exact-error-a-user-sees",
                        "devres-and-bar", "devres-and-bar-1"),
                anchors("## 7. Submitting a job\n### The IOMMU\n### Bad input and the exact error a user sees\n"
                        + "```\n# not a heading\n```\n## `Devres` and `Bar`\n## Devres and Bar\n"));
    }

    @Test
    void linksAndHeadingsAgreeOnWhereAFencedBlockEnds() {
        String markdown = String.join("\n",
                "# Top",
                "````markdown",
                "```",
                "# not a heading, [not a link](a.md)",
                "~~~",
                "## still code, [nor this](b.md)",
                "```",
                "````",
                "## After",
                "~~~",
                "```",
                "[in a tilde block](c.md)",
                "~~~~",
                "[a link](d.md)",
                "");
        assertEquals(List.of(new Link(14, "d.md")), links(markdown));
        assertEquals(Set.of("top", "after"), anchors(markdown));
        assertEquals(List.of(1, 9, 14, 15), outsideFences(markdown).stream().map(ProseLine::number).toList());
    }
}
