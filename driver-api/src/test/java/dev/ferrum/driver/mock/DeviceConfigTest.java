package dev.ferrum.driver.mock;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every bad value given to the builder is refused with a message naming it, never truncated or crashed on. */
class DeviceConfigTest {
    private static DeviceConfig.Builder builder() {
        return DeviceConfig.builder(0x1de5, 0x0001, 0xff0000).bar(0, 4096);
    }

    private static void refused(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should contain '" + expected + "'");
    }

    @Test
    void msixBarIndexAndOffsetsAreChecked() {
        refused("MSI-X BAR index 6 is not 0..5", () -> builder().msix(1, 6, 0x800, 0xc00));
        refused("MSI-X BAR index -1 is not 0..5", () -> builder().msix(1, -1, 0x800, 0xc00));
        refused("not 8-byte aligned", () -> builder().msix(1, 0, 0x804, 0xc00));
        refused("not 8-byte aligned", () -> builder().msix(1, 0, 0x800, -8));
        refused("does not fit BAR2", () -> builder().msix(1, 2, 0x800, 0xc00).build());
        refused("does not fit BAR0", () -> builder().msix(65, 0, 0xc00, 0x800).build());
        assertEquals(4, builder().msix(4, 0, 0x800, 0xc00).build().msixVectors());
    }

    @Test
    void subsystemAndRevisionAreNotTruncated() {
        refused("subsystem vendor ID 0x10000 does not fit 16 bits", () -> builder().subsystem(0x10000, 1));
        refused("subsystem ID 0xffffffff does not fit 16 bits", () -> builder().subsystem(1, -1));
        refused("revision ID 0x100 does not fit 8 bits", () -> builder().revision(0x100));
        builder().subsystem(0xffff, 0).revision(0xff).build();
    }

    @Test
    void extendedCapabilitiesAreCheckedAndLimitedToTheSpaceThereIs() {
        refused("extended capability ID 0x10001 does not fit 16 bits", () -> builder().extendedCapability(0x10001));
        refused("extended capability ID 0xffffffff", () -> builder().extendedCapability(-1));
        DeviceConfig.Builder full = builder();
        for (int i = 0; i < 240; i++) {
            full.extendedCapability(i + 1);
        }
        refused("no room for another extended capability", () -> full.extendedCapability(0x42));
        full.build();
    }

    @Test
    void configPatchesStayInsideConfigSpace() {
        refused("width 3 is not 1, 2 or 4", () -> builder().patchConfig(0x40, 3, 0));
        refused("outside config space", () -> builder().patchConfig(0xffe, 4, 0));
        refused("outside config space", () -> builder().patchConfig(-1, 1, 0));
        builder().patchConfig(0xffc, 4, 0).build();
    }
}
