package dev.ferrum.nvme;

import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The NVMe PCI driver: binds to every function with the NVMe class code (01:08:02) and brings up an
 * {@link NvmeController} for it. Register it on a {@link dev.ferrum.driver.pci.PciBus}, or use
 * {@link NvmeController#attach}.
 *
 * <p>Invariants: one controller per bound function; {@link #remove} closes it (or, after surprise removal,
 * abandons it without touching the device).
 */
public final class NvmeDriver implements PciDriver {
    private final NvmeOptions options;
    private final Map<PciAddress, NvmeController> controllers = new ConcurrentHashMap<>();

    public NvmeDriver() {
        this(NvmeOptions.defaults());
    }

    public NvmeDriver(NvmeOptions options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    @Override
    public String name() {
        return "ferrum-nvme";
    }

    @Override
    public List<DeviceId> idTable() {
        return List.of(DeviceId.ofClass(PciConfig.CLASS_NVME, 0xffffff));
    }

    @Override
    public void probe(PciDevice device, DeviceId id) {
        controllers.put(device.address(), new NvmeController(device, options));
    }

    @Override
    public void remove(PciDevice device) {
        NvmeController c = controllers.remove(device.address());
        if (c == null) {
            return;
        }
        if (device.isPresent()) {
            c.close();
        } else {
            c.abandon("the device was removed");
        }
    }

    /** {@return the controller bound at {@code address}} */
    public Optional<NvmeController> controller(PciAddress address) {
        return Optional.ofNullable(controllers.get(address));
    }

    /** {@return every controller this driver has bound} */
    public List<NvmeController> controllers() {
        return List.copyOf(controllers.values());
    }
}
