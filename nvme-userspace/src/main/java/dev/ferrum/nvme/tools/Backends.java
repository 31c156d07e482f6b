package dev.ferrum.nvme.tools;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.spi.PciBackend;
import dev.ferrum.driver.vfio.VfioBackend;

/** The real-hardware backend for {@code --pci}. */
final class Backends {
    private Backends() {}

    static PciBackend vfio(PciAddress address) {
        return VfioBackend.open(address);
    }
}
