package dev.ferrum.example;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Code regions of source files, and the fenced code blocks of markdown documents that show them.
 *
 * <p>A region is marked in a source file the way javadoc's {@code {@snippet class=... region=...}} expects:
 * {@code // @start region="name"} and {@code // @end} (or {@code @end region="name"}) on lines of their own, also
 * as {@code <!-- @start region="name" -->} in XML and {@code # @start region="name"} in shell scripts. Regions may
 * nest; marker lines are not part of any region; a region's text has its common indentation removed.
 *
 * <p>A markdown block shows a region when the line right before its opening fence is
 * {@code <!-- snippet: path/from/the/repository/root#name -->}.
 */
final class Snippets {
    private static final String COMMENT = "(?://|#|<!--)\\s*";
    private static final String NAME = "\"?([A-Za-z0-9_.-]+)\"?";
    private static final Pattern START = Pattern.compile("^\\s*" + COMMENT + "@start\\s+region\\s*=\\s*" + NAME
            + "\\s*(?:-->)?\\s*$");
    private static final Pattern END = Pattern.compile("^\\s*" + COMMENT + "@end(?:\\s+region\\s*=\\s*" + NAME
            + ")?\\s*(?:-->)?\\s*$");
    private static final Pattern MARKER = Pattern.compile("^<!--\\s*snippet:\\s*(\\S+?)#([A-Za-z0-9_.-]+)\\s*-->\\s*$");
    private static final Pattern FENCE = Pattern.compile("^```\\s*(\\S*)\\s*$");

    private Snippets() {}

    /**
     * {@return the regions of {@code source}, by name, in order of their start}
     *
     * @param file names the source in error messages
     * @throws IllegalArgumentException for an unclosed region, an {@code @end} without an open region, or a name
     *                                  used twice, naming the line
     */
    static Map<String, String> regions(String source, String file) {
        Map<String, List<String>> lines = new LinkedHashMap<>();
        Deque<String> open = new ArrayDeque<>();
        String[] text = source.split("\n", -1);
        for (int i = 0; i < text.length; i++) {
            String line = text[i];
            Matcher start = START.matcher(line);
            Matcher end = END.matcher(line);
            if (start.matches()) {
                String name = start.group(1);
                if (lines.containsKey(name)) {
                    throw new IllegalArgumentException(file + ":" + (i + 1) + ": region \"" + name
                            + "\" is defined twice");
                }
                lines.put(name, new ArrayList<>());
                open.push(name);
            } else if (end.matches()) {
                String name = end.group(1);
                if (open.isEmpty() || (name != null && !open.contains(name))) {
                    throw new IllegalArgumentException(file + ":" + (i + 1) + ": @end" + (name == null ? ""
                            : " region=\"" + name + "\"") + " closes no open region");
                }
                if (name == null) {
                    open.pop();
                } else {
                    while (!open.pop().equals(name)) {
                        // regions nested in the named one end with it
                    }
                }
            } else {
                for (String name : open) {
                    lines.get(name).add(line);
                }
            }
        }
        if (!open.isEmpty()) {
            throw new IllegalArgumentException(file + ": region \"" + open.peek() + "\" has no @end");
        }
        Map<String, String> regions = new LinkedHashMap<>();
        lines.forEach((name, body) -> regions.put(name, dedent(body)));
        return regions;
    }

    /** Removes trailing blanks, leading and trailing empty lines, and the indentation all lines share. */
    static String dedent(List<String> lines) {
        List<String> body = new ArrayList<>();
        for (String l : lines) {
            body.add(l.stripTrailing());
        }
        while (!body.isEmpty() && body.getFirst().isEmpty()) {
            body.removeFirst();
        }
        while (!body.isEmpty() && body.getLast().isEmpty()) {
            body.removeLast();
        }
        int indent = Integer.MAX_VALUE;
        for (String l : body) {
            if (!l.isEmpty()) {
                indent = Math.min(indent, l.length() - l.stripLeading().length());
            }
        }
        StringBuilder s = new StringBuilder();
        for (String l : body) {
            s.append(l.isEmpty() ? "" : l.substring(indent)).append('\n');
        }
        return s.toString();
    }

    /**
     * A fenced block of a markdown document.
     *
     * @param fence  the 0-based line of the opening fence
     * @param close  the 0-based line of the closing fence
     * @param lang   the fence's language, "" if none
     * @param path   the source file the marker names, or null if the block has no marker
     * @param region the region the marker names, or null
     * @param body   the block's text, each line ending in a newline
     */
    record Block(int fence, int close, String lang, String path, String region, String body) {
        boolean marked() {
            return path != null;
        }
    }

    /**
     * {@return the fenced blocks of {@code markdown}}
     *
     * @throws IllegalArgumentException if a fence is not closed, or a marker is not followed by a fence
     */
    static List<Block> blocks(String markdown, String file) {
        String[] lines = markdown.split("\n", -1);
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) {
            Matcher marker = MARKER.matcher(lines[i]);
            if (marker.matches() && (i + 1 >= lines.length || !FENCE.matcher(lines[i + 1]).matches())) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": a snippet marker must be followed "
                        + "directly by a fenced block");
            }
            Matcher fence = FENCE.matcher(lines[i]);
            if (!fence.matches()) {
                continue;
            }
            int close = i + 1;
            while (close < lines.length && !lines[close].strip().equals("```")) {
                close++;
            }
            if (close >= lines.length) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": the fenced block is not closed");
            }
            StringBuilder body = new StringBuilder();
            for (int k = i + 1; k < close; k++) {
                body.append(lines[k]).append('\n');
            }
            Matcher m = i > 0 ? MARKER.matcher(lines[i - 1]) : null;
            boolean marked = m != null && m.matches();
            blocks.add(new Block(i, close, fence.group(1), marked ? m.group(1) : null, marked ? m.group(2) : null,
                    body.toString()));
            i = close;
        }
        return blocks;
    }

    /** {@return {@code markdown} with the body of every marked block replaced by {@code text.apply(block)}} */
    static String rewrite(String markdown, String file, Function<Block, String> text) {
        String[] lines = markdown.split("\n", -1);
        StringBuilder out = new StringBuilder();
        int next = 0;
        for (Block b : blocks(markdown, file)) {
            if (!b.marked()) {
                continue;
            }
            for (; next <= b.fence(); next++) {
                out.append(lines[next]).append('\n');
            }
            out.append(text.apply(b));
            next = b.close();
        }
        for (; next < lines.length; next++) {
            out.append(lines[next]);
            if (next < lines.length - 1) {
                out.append('\n');
            }
        }
        return out.toString();
    }

    /** {@return a line diff of two texts: unchanged lines with two spaces, removed with "- ", added with "+ "} */
    static String diff(String expected, String actual) {
        String[] a = expected.split("\n", -1);
        String[] b = actual.split("\n", -1);
        int[][] lcs = new int[a.length + 1][b.length + 1];
        for (int i = a.length - 1; i >= 0; i--) {
            for (int j = b.length - 1; j >= 0; j--) {
                lcs[i][j] = a[i].equals(b[j]) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        StringBuilder s = new StringBuilder();
        int i = 0;
        int j = 0;
        while (i < a.length || j < b.length) {
            if (i < a.length && j < b.length && a[i].equals(b[j])) {
                s.append("  ").append(a[i++]).append('\n');
                j++;
            } else if (j < b.length && (i == a.length || lcs[i][j + 1] > lcs[i + 1][j])) {
                s.append("+ ").append(b[j++]).append('\n');
            } else {
                s.append("- ").append(a[i++]).append('\n');
            }
        }
        return s.toString();
    }
}
