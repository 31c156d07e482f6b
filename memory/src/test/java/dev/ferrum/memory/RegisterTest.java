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
    void intOverloadsRefuseFieldsOfA64BitRegister() {
        long cap = 0x004018200f0107ffL;
        // (int) cap drops MPSMAX (bits 52-55): without the check this silently returned 0.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CAP_MPSMAX.get((int) cap));
        assertEquals("CAP.MPSMAX belongs to a 64-bit register: get(int) takes a 32-bit value; use the long overload"
                + " with the register's 64-bit value", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CAP_MPSMAX.isSet((int) cap));
        assertTrue(e.getMessage().startsWith("CAP.MPSMAX belongs to a 64-bit register: isSet(int)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CAP_MQES.get((int) cap), "even a field below bit 32");
        assertTrue(e.getMessage().contains("CAP.MQES"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CAP_TO.with(0, 1));
        assertTrue(e.getMessage().startsWith("CAP.TO belongs to a 64-bit register: with(int, long)"), e.getMessage());
        assertEquals(4, CAP_MPSMAX.get(cap), "the long overload reads it");
        assertTrue(CAP_MPSMAX.isSet(cap));
    }

    @Test
    void register64UpdateAndRelaxedAccess() {
        try (Arena arena = Arena.ofConfined()) {
            Mmio bar = Mmio.of(arena.allocate(0x40, 8), "BAR0");
            Register64 asq = Register64.at(0x28, "ASQ");
            asq.writeRelaxed(bar, 0x1122_3344_5566_7788L);
            assertEquals(0x1122_3344_5566_7788L, bar.read64(0x28L), "writeRelaxed stores all 64 bits");
            assertEquals(0x1122_3344_5566_7788L, asq.readRelaxed(bar));
            bar.write64(0x28L, 0x0102_0304_0506_0708L);
            assertEquals(0x0102_0304_0506_0708L, asq.readRelaxed(bar), "readRelaxed sees the register's value");

            CAP.write(bar, 0x004018200f0107ffL);
            long written = CAP.update(bar, CAP_MPSMAX, 0xa);
            assertEquals(0x00a018200f0107ffL, written, "only MPSMAX (bits 52-55) changed");
            assertEquals(written, CAP.read(bar));
            assertEquals(0xa, CAP_MPSMAX.read(bar));
            assertEquals(0x0102_0304_0506_0708L, asq.read(bar), "the neighbouring register is untouched");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> CAP.update(bar, CC_EN, 1));
            assertEquals("field CC.EN is not a field of register CAP", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> CAP.update(bar, CAP_MPSMAX, 16), "does not fit");
            assertEquals(written, CAP.read(bar), "a refused update writes nothing");
        }
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
