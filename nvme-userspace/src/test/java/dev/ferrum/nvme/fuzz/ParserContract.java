package dev.ferrum.nvme.fuzz;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The contract every parser of device-written data keeps, as assertions for fuzz targets. */
final class ParserContract {
    private ParserContract() {}

    /** A refusal must say what was wrong: a non-blank message. */
    static void hasMessage(IllegalArgumentException e) {
        assertNotNull(e.getMessage(), "IllegalArgumentException without a message");
        assertTrue(!e.getMessage().isBlank(), "IllegalArgumentException with a blank message");
    }

    /** Device text reaches logs and terminals: printable ASCII only, no surrounding blanks. */
    static void printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            assertTrue(c >= 0x20 && c < 0x7f, "unprintable character " + (int) c + " in \"" + s + "\"");
        }
        assertTrue(s.equals(s.strip()), "untrimmed text \"" + s + "\"");
    }
}
