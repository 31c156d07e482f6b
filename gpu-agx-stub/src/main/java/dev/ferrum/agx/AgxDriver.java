package dev.ferrum.agx;

import dev.ferrum.agx.internal.fw.Regs;
import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The AGX PCI driver (the platform driver of Asahi's {@code driver.rs}, here on PCI): binds to the simulated AGX
 * function (Apple vendor 0x106b, device 0xa6a0) and brings up an {@link AgxDevice} for it.
 *
 * <p>Invariants: one device per bound function; {@link #remove} closes it (after a surprise removal the BARs are
 * already revoked and the device only releases its memory).
 */
public final class AgxDriver implements PciDriver {
    private final AgxOptions options;
    private final Map<PciAddress, AgxDevice> devices = new ConcurrentHashMap<>();

    public AgxDriver() {
        this(AgxOptions.defaults());
    }

    public AgxDriver(AgxOptions options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    @Override
    public String name() {
        return "ferrum-agx";
    }

    @Override
    public List<DeviceId> idTable() {
        return List.of(DeviceId.of(Regs.VENDOR_APPLE, Regs.DEVICE_AGX));
    }

    @Override
    public void probe(PciDevice device, DeviceId id) {
        devices.put(device.address(), new AgxDevice(device, options));
    }

    @Override
    public void remove(PciDevice device) {
        AgxDevice d = devices.remove(device.address());
        if (d != null) {
            d.close();
        }
    }

    /** {@return the device bound at {@code address}} */
    public Optional<AgxDevice> device(PciAddress address) {
        return Optional.ofNullable(devices.get(address));
    }
}
