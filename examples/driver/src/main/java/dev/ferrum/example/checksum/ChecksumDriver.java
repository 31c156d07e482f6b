package dev.ferrum.example.checksum;

import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The PCI driver of the CSUM-1 checksum accelerator: binds to vendor 0x1de5, device 0xc5c1, and brings up a
 * {@link ChecksumEngine} for each such function. Register it on a {@link dev.ferrum.driver.pci.PciBus}.
 *
 * <p>Invariants: one engine per bound function; {@link #remove} shuts it down (also after a surprise removal, when
 * the device's registers are already gone).
 */
public final class ChecksumDriver implements PciDriver {
    private static final Duration DEFAULT_STATUS_TIMEOUT = Duration.ofSeconds(5);

    private final Map<PciAddress, ChecksumEngine> engines = new ConcurrentHashMap<>();
    private final Duration statusTimeout;

    /** A driver that waits up to 5 s for the device to start or stop. */
    public ChecksumDriver() {
        this(DEFAULT_STATUS_TIMEOUT);
    }

    /**
     * @param statusTimeout how long to wait for the device to start ({@code STATUS.RDY} 1) or stop ({@code RDY} 0)
     * @throws IllegalArgumentException if it is not positive
     */
    public ChecksumDriver(Duration statusTimeout) {
        Objects.requireNonNull(statusTimeout, "statusTimeout");
        if (statusTimeout.isNegative() || statusTimeout.isZero()) {
            throw new IllegalArgumentException("status timeout " + statusTimeout + " is not positive");
        }
        this.statusTimeout = statusTimeout;
    }

    // @start region="id-table"
    private static final List<DeviceId> ID_TABLE = List.of(
            DeviceId.of(ChecksumRegisters.VENDOR_ID, ChecksumRegisters.DEVICE_ID));

    @Override
    public String name() {
        return "ferrum-checksum";
    }

    @Override
    public List<DeviceId> idTable() {
        return ID_TABLE;
    }
    // @end

    // @start region="driver-probe"
    @Override
    public void probe(PciDevice device, DeviceId id) {
        // If this throws, the bus releases whatever the device acquired (BAR, DMA memory, MSI-X).
        engines.put(device.address(), ChecksumEngine.probe(device, statusTimeout));
    }
    // @end

    // @start region="driver-remove"
    @Override
    public void remove(PciDevice device) {
        ChecksumEngine engine = engines.remove(device.address());
        if (engine != null) {
            engine.shutdown();
        }
        // Then the bus unmaps BAR0, frees the DMA pool (refusing pinned buffers) and disables MSI-X.
    }
    // @end

    /** {@return the engine of the device at {@code address}, if this driver is bound to it} */
    public Optional<ChecksumEngine> engine(PciAddress address) {
        return Optional.ofNullable(engines.get(address));
    }

    /** {@return the engines of every device this driver is bound to} */
    public List<ChecksumEngine> engines() {
        return List.copyOf(engines.values());
    }
}
