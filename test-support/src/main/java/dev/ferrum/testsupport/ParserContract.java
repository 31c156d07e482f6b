package dev.ferrum.testsupport;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract every parser of device- or firmware-written data keeps (ARCHITECTURE.md, rule 6), as assertions for
 * fuzz targets of any module: a parser returns a valid value or refuses the input with an
 * {@link IllegalArgumentException} that says what is wrong, and text it passes on is printable.
 */
public final class ParserContract {
    private ParserContract() {}

    /** A refusal must say what was wrong: a non-blank message. */
    public static void hasMessage(IllegalArgumentException e) {
        assertNotNull(e.getMessage(), "IllegalArgumentException without a message");
        assertTrue(!e.getMessage().isBlank(), "IllegalArgumentException with a blank message");
    }

    /** Device text reaches logs and terminals: printable ASCII only, no surrounding blanks. */
    public static void printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            assertTrue(c >= 0x20 && c < 0x7f, "unprintable character " + (int) c + " in \"" + s + "\"");
        }
        assertTrue(s.equals(s.strip()), "untrimmed text \"" + s + "\"");
    }
}
