package dev.ferrum.driver.pci;

import dev.ferrum.driver.pci.spi.HotplugListener;
import dev.ferrum.driver.pci.spi.PciBackend;
import dev.ferrum.driver.pci.spi.PciFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The PCI functions of one backend and the drivers bound to them: the Linux driver model in small. Registering a
 * driver probes it against every unbound function its ID table matches; unbinding calls {@code remove} and then
 * releases the binding's resources. A backend's removal request (VFIO's request interrupt, {@code MockPciBus.remove})
 * unbinds the same way, while the device still answers; a surprise removal revokes the device's BARs before
 * {@code remove} runs.
 *
 * {@snippet class=dev.ferrum.example.javadoc.PciExamplesTest region=bus}
 *
 * <p>Invariants: a function is bound to at most one driver; {@code remove} is called exactly once per successful
 * {@code probe}; after a failed probe or after {@code remove}, every resource the device acquired in that binding
 * has been released.
 *
 * <p>Thread-safe: binding operations are serialized.
 */
public final class PciBus implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PciBus.class);

    private final PciBackend backend;
    private final Map<PciAddress, PciDevice> devices = new LinkedHashMap<>();
    private final Map<PciDevice, PciDriver> bindings = new LinkedHashMap<>();
    private final List<PciDriver> drivers = new ArrayList<>();
    private boolean closed;

    private PciBus(PciBackend backend) {
        this.backend = backend;
    }

    /**
     * {@return a bus over the functions of {@code backend}; the bus owns the backend and closes it} A function that
     * cannot be identified (its vendor ID reads 0xffff, or a config read fails) is skipped with a warning and
     * closed, as Linux's enumeration skips a function that does not answer; if opening fails otherwise, the
     * backend is closed before the exception propagates.
     */
    public static PciBus open(PciBackend backend) {
        PciBus bus = new PciBus(Objects.requireNonNull(backend, "backend"));
        try {
            synchronized (bus) {
                for (PciFunction f : backend.functions()) {
                    bus.add(f);
                }
            }
            backend.setHotplugListener(bus.new Listener());
        } catch (RuntimeException | Error e) {
            bus.close();
            throw e;
        }
        return bus;
    }

    /** Identifies {@code f} and adds it; a function that cannot be identified is closed and skipped (empty). */
    private Optional<PciDevice> add(PciFunction f) {
        PciDevice d;
        try {
            d = new PciDevice(f);
        } catch (RuntimeException e) {
            LOG.warn("{}: skipping {}: it cannot be identified: {}", backend.name(), f.address(), e.getMessage());
            try {
                f.close();
            } catch (RuntimeException closing) {
                LOG.warn("closing {} failed: {}", f.address(), closing.getMessage());
            }
            return Optional.empty();
        }
        devices.put(d.address(), d);
        LOG.debug("{}: found {}", backend.name(), d);
        return Optional.of(d);
    }

    /** {@return the backend's name} */
    public String backendName() {
        return backend.name();
    }

    /** {@return the functions present, in address order} */
    public synchronized List<PciDevice> devices() {
        return devices.values().stream().sorted((a, b) -> a.address().compareTo(b.address())).toList();
    }

    /** {@return the function at {@code address}, if present} */
    public synchronized Optional<PciDevice> device(PciAddress address) {
        return Optional.ofNullable(devices.get(address));
    }

    /** {@return the driver bound to {@code device}, if any} */
    public synchronized Optional<PciDriver> driverOf(PciDevice device) {
        return Optional.ofNullable(bindings.get(device));
    }

    /**
     * Registers {@code driver} and probes it against every unbound function it matches. A failing probe is logged
     * and leaves that function unbound (as in Linux); use {@link #bind} to get the failure as an exception.
     *
     * @return the functions the driver is now bound to
     */
    public synchronized List<PciDevice> register(PciDriver driver) {
        requireOpen();
        Objects.requireNonNull(driver, "driver");
        if (drivers.contains(driver)) {
            throw new IllegalStateException("driver " + driver.name() + " is already registered");
        }
        drivers.add(driver);
        List<PciDevice> bound = new ArrayList<>();
        for (PciDevice d : devices()) {
            if (bindings.containsKey(d)) {
                continue;
            }
            Optional<DeviceId> id = match(driver, d);
            if (id.isEmpty()) {
                continue;
            }
            try {
                probe(driver, d, id.get());
                bound.add(d);
            } catch (PciProbeException e) {
                LOG.warn("{}", e.getMessage(), e.getCause());
            }
        }
        return bound;
    }

    /**
     * Binds {@code driver} to {@code device} (registering the driver if needed).
     *
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the device is not in the driver's ID table
     * @throws IllegalStateException    if the device is already bound
     * @throws DeviceGoneException      if the device is not (or no longer) on this bus
     * @throws PciProbeException        if the driver's probe failed (its cause); the device stays unbound
     */
    public synchronized void bind(PciDriver driver, PciDevice device) {
        requireOpen();
        Objects.requireNonNull(driver, "bind: driver is null");
        Objects.requireNonNull(device, "bind: device is null");
        if (devices.get(device.address()) != device) {
            throw new DeviceGoneException(device.address() + " is not present on this bus");
        }
        PciDriver current = bindings.get(device);
        if (current != null) {
            throw new IllegalStateException(device + " is already bound to " + current.name());
        }
        DeviceId id = match(driver, device).orElseThrow(() -> new IllegalArgumentException(device
                + " is not in the ID table of driver " + driver.name() + " " + driver.idTable()));
        if (!drivers.contains(driver)) {
            drivers.add(driver);
        }
        probe(driver, device, id);
    }

    /**
     * Binds {@code driver} to the function at {@code address}: the usual way a tool or an application takes one
     * device.
     *
     * @return the bound device
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if no function is at {@code address} (the message lists those present), or
     *                                  it is not in the driver's ID table
     * @throws IllegalStateException    if it is already bound
     * @throws PciProbeException        if the driver's probe failed
     */
    public synchronized PciDevice bind(PciDriver driver, PciAddress address) {
        Objects.requireNonNull(driver, "bind: driver is null");
        Objects.requireNonNull(address, "bind: address is null");
        PciDevice device = device(address).orElseThrow(() -> new IllegalArgumentException("no PCI function "
                + address + " on the " + backend.name() + " bus (present: "
                + devices().stream().map(d -> d.address().toString()).toList() + ")"));
        bind(driver, device);
        return device;
    }

    private static Optional<DeviceId> match(PciDriver driver, PciDevice device) {
        return driver.idTable().stream().filter(device::matches).findFirst();
    }

    private void probe(PciDriver driver, PciDevice device, DeviceId id) {
        try {
            driver.probe(device, id);
        } catch (Exception | LinkageError e) {
            device.releaseBinding();
            throw new PciProbeException("probe of " + device + " by " + driver.name() + " failed: " + e.getMessage(), e);
        }
        bindings.put(device, driver);
        LOG.info("{}: {} bound to {}", backend.name(), device, driver.name());
    }

    /**
     * Unbinds whatever driver is bound to {@code device}: {@code remove}, then release its resources. Does nothing
     * if no driver is bound to it.
     *
     * @throws NullPointerException if {@code device} is null
     */
    public synchronized void unbind(PciDevice device) {
        Objects.requireNonNull(device, "unbind: device is null");
        PciDriver driver = bindings.remove(device);
        if (driver == null) {
            return;
        }
        try {
            driver.remove(device);
        } catch (RuntimeException e) {
            LOG.error("{}: remove of {} by {} threw", backend.name(), device, driver.name(), e);
        } finally {
            device.releaseBinding();
        }
        LOG.info("{}: {} unbound from {}", backend.name(), device, driver.name());
    }

    /** Unbinds {@code driver} from every device and forgets it. */
    public synchronized void unregister(PciDriver driver) {
        Objects.requireNonNull(driver, "unregister: driver is null");
        for (Map.Entry<PciDevice, PciDriver> e : List.copyOf(bindings.entrySet())) {
            if (e.getValue() == driver) {
                unbind(e.getKey());
            }
        }
        drivers.remove(driver);
    }

    /** Unbinds every driver, releases every device, closes the backend. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            for (PciDevice d : List.copyOf(bindings.keySet()).reversed()) {
                unbind(d);
            }
            for (PciDevice d : devices.values()) {
                // Resources taken through a device no driver is bound to (tools, tests) are released too.
                d.releaseBinding();
                d.markRemoved();
                try {
                    d.function().close();
                } catch (RuntimeException e) {
                    LOG.warn("closing {} failed: {}", d.address(), e.getMessage());
                }
            }
            devices.clear();
        }
        // Outside the bus lock: a backend's close may wait for its hotplug thread, which may be waiting for this
        // lock to deliver an event (and will find the bus closed).
        backend.close();
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("PCI bus (" + backend.name() + ") is closed");
        }
    }

    private final class Listener implements HotplugListener {
        @Override
        public void added(PciFunction function) {
            synchronized (PciBus.this) {
                if (closed) {
                    return;
                }
                PciDevice d = add(function).orElse(null);
                if (d == null) {
                    return;
                }
                for (PciDriver driver : drivers) {
                    Optional<DeviceId> id = match(driver, d);
                    if (id.isPresent()) {
                        try {
                            probe(driver, d, id.get());
                            break;
                        } catch (PciProbeException e) {
                            LOG.warn("{}", e.getMessage(), e.getCause());
                        }
                    }
                }
            }
        }

        @Override
        public void removalRequested(PciFunction function) {
            synchronized (PciBus.this) {
                PciDevice d = devices.get(function.address());
                if (closed || d == null || d.function() != function) {
                    return; // already released by close() or an earlier removal
                }
                LOG.info("{}: removal of {} requested; unbinding it", backend.name(), d);
                // The device still answers: remove runs with the BARs live, then the binding is released.
                unbind(d);
                d.releaseBinding();
                devices.remove(d.address());
                d.markRemoved();
                function.close();
            }
        }

        @Override
        public void surpriseRemoved(PciFunction function) {
            PciDevice d;
            synchronized (PciBus.this) {
                d = devices.get(function.address());
            }
            if (d == null) {
                return;
            }
            // First, without waiting for the bus lock: the hardware is gone, cut register access now.
            d.revokeBars();
            synchronized (PciBus.this) {
                LOG.warn("{}: {} was surprise-removed", backend.name(), d);
                unbind(d);
                d.releaseBinding();
                devices.remove(d.address());
                d.markRemoved();
                function.close();
            }
        }
    }
}
