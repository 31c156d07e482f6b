package dev.ferrum.memory;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegisterTest {
    // NVMe CC and CAP as a realistic example.
    static final Register32 CC = Register32.at(0x14, "CC");
    static final Field CC_EN = CC.field("EN", 0, 1);
    static final Field CC_MPS = CC.field("MPS", 7, 4);
    static final Field CC_IOSQES = CC.field("IOSQES", 16, 4);
    static final Register64 CAP = Register64.at(0x0, "CAP");
    static final Field CAP_MQES = CAP.field("MQES", 0, 16);
    static final Field CAP_TO = CAP.field("TO", 24, 8);
    static final Field CAP_MPSMAX = CAP.field("MPSMAX", 52, 4);

    @Test
    void fieldsExtractAndInsert() {
        long cap = 0x004018200f0107ffL; // QEMU's NVMe CAP, measured in the VM recipe
        assertEquals(0x7ff, CAP_MQES.get(cap));
        assertEquals(0x0f, CAP_TO.get(cap));
        assertEquals(0x4, CAP_MPSMAX.get(cap));
        int cc = CC_IOSQES.with(CC_MPS.with(CC_EN.with(0, 1), 0), 6);
        assertEquals(0x0006_0001, cc);
        assertTrue(CC_EN.isSet(cc));
        assertEquals(6, CC_IOSQES.get(cc));
        assertEquals(0x0006_0000, CC_EN.with(cc, 0), "clearing one field leaves the others");
        assertEquals(15, CC_MPS.maxValue());
        assertEquals("CC.MPS[10:7]", CC_MPS.toString());
    }

    @Test
    void valuesThatDoNotFitAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CC_MPS.with(0, 16));
        assertEquals("value 16 (0x10) does not fit in CC.MPS (4 bits)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CC.field("BAD", 30, 4));
        assertThrows(IllegalArgumentException.class, () -> Register32.at(0x2, "UNALIGNED"));
        assertThrows(IllegalArgumentException.class, () -> CAP_MQES.with(0, 1L << 16));
        assertThrows(IllegalArgumentException.class, () -> CAP_TO.with(0, 1), "64-bit field on an int value");
    }

    @Test
    void registersReadWriteAndUpdateThroughMmio() {
        try (Arena arena = Arena.ofConfined()) {
            Mmio bar = Mmio.of(arena.allocate(0x40, 8), "BAR0");
            CAP.write(bar, 0x004018200f0107ffL);
            assertEquals(0x7ff, CAP_MQES.read(bar));
            CC.write(bar, 0);
            assertEquals(1, CC.update(bar, CC_EN, 1));
            assertEquals(1 | 6 << 16, CC.update(bar, CC_IOSQES, 6));
            assertEquals(1 | 6 << 16, CC.readRelaxed(bar));
            assertFalse(CC_MPS.isSet(CC.read(bar)));
            assertThrows(IllegalArgumentException.class, () -> CC.update(bar, CAP_TO, 1), "field of another register");
            assertEquals(1 | 6 << 16, CC.read(bar), "a refused update writes nothing");
        }
    }
}
