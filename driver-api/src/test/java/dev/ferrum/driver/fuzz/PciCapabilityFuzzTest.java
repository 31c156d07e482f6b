package dev.ferrum.driver.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.DeviceModel;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.Capability;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.driver.pci.PciDevice;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the PCI capability walk ({@link PciDevice#capabilities()}) over a config space whose capability pointers
 * and headers the device chose: patched status bit, capabilities pointer, conventional and extended capability
 * headers. The walk must terminate, list every capability once at an in-range, dword-aligned offset, and throw
 * nothing.
 */
class PciCapabilityFuzzTest {
    private static final PciAddress ADDRESS = PciAddress.parse("0000:00:02.0");

    /** A device with nothing to do: only its config space matters. */
    private static final class Inert extends DeviceModel {
        Inert(DeviceConfig config) {
            super(config);
        }

        @Override
        protected boolean process() {
            return false;
        }

        @Override
        protected void reset() {
        }
    }

    @FuzzTest(maxDuration = "30s")
    void capabilities(FuzzedDataProvider data) {
        DeviceConfig.Builder b = DeviceConfig.builder(0x1de5, 0xfa22, 0xff0000).bar(0, 4096)
                .configSize(data.consumeBoolean() ? 4096 : 256);
        if (data.consumeBoolean()) {
            b.msix(1 + data.consumeInt(0, 7), 0, 0x800, 0xc00);
        }
        for (int i = data.consumeInt(0, 4); i > 0; i--) {
            b.extendedCapability(data.consumeInt(0, 0xffff));
        }
        int patches = data.consumeInt(0, 64);
        int configSize = 4096;
        for (int i = 0; i < patches && data.remainingBytes() > 0; i++) {
            int offset = switch (data.consumeInt(0, 3)) {
                case 0 -> PciConfig.STATUS;
                case 1 -> PciConfig.CAPABILITIES_POINTER;
                case 2 -> data.consumeInt(0x40, 0xff);
                default -> data.consumeInt(0x100, configSize - 4);
            };
            int width = data.pickValue(new int[] {1, 2, 4});
            b.patchConfig(Math.min(offset, configSize - width), width, data.consumeInt());
        }
        try (PciBus bus = PciBus.open(new MockPciBus().add(ADDRESS, new Inert(b.build()), MockPciBus.Mode.STEPPED))) {
            PciDevice device = bus.device(ADDRESS).orElseThrow();
            List<Capability> caps = device.capabilities();
            Set<Integer> offsets = new HashSet<>();
            for (Capability c : caps) {
                int limit = c.extended() ? device.configSize() - 4 : 0xfc;
                int low = c.extended() ? 0x100 : 0x40;
                assertTrue(c.offset() >= low && c.offset() <= limit, "capability at 0x" + Integer.toHexString(c.offset()));
                assertTrue((c.offset() & 3) == 0, "unaligned capability at 0x" + Integer.toHexString(c.offset()));
                assertTrue(offsets.add(c.offset() | (c.extended() ? 1 << 16 : 0)), "capability visited twice: " + c);
            }
            assertTrue(caps.size() <= 48 + (device.configSize() - 0x100) / 4, caps.size() + " capabilities");
            device.capability(PciConfig.CAP_MSIX);
        }
    }
}
