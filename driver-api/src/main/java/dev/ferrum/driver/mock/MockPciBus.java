package dev.ferrum.driver.mock;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.spi.HotplugListener;
import dev.ferrum.driver.pci.spi.PciBackend;
import dev.ferrum.driver.pci.spi.PciFunction;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * An in-process PCI bus of {@link DeviceModel}s: the backend for CI, tests and the default demo. Drivers see its
 * functions through {@link dev.ferrum.driver.pci.PciBus} exactly as they see VFIO devices.
 *
 * {@snippet class=dev.ferrum.example.checksum.ChecksumDriverTest region=usage}
 *
 * <p>Each function has its own {@link MockIommu}. Hot removal: {@link #remove} (orderly: the driver's {@code remove}
 * runs first, with the device still answering). Fault injection: {@link #surpriseRemove} (BARs revoked at once,
 * then the driver is removed), {@link #failConfigReads}, {@link #dropInterrupts}; device models inject their own
 * device-level faults.
 *
 * <p>Invariants: one model per address and one address per model, for the model's whole life (a removed model is
 * never added again: its memory is freed); a model's thread runs from {@code add} until its removal or
 * {@link #close()}.
 */
public final class MockPciBus implements PciBackend {
    /** How a model runs. */
    public enum Mode {
        /** On its own thread, as hardware does (default). */
        THREADED,
        /** Only when {@link DeviceModel#step()} is called: for deterministic tests and benchmarks. */
        STEPPED
    }

    private final Map<PciAddress, MockFunction> functions = new LinkedHashMap<>();
    private HotplugListener listener;
    private boolean closed;

    /** Adds a threaded model at {@code address} (e.g. {@code "0000:01:00.0"}). */
    public MockPciBus add(String address, DeviceModel model) {
        return add(PciAddress.parse(address), model, Mode.THREADED);
    }

    /**
     * Adds a model; if a {@link dev.ferrum.driver.pci.PciBus} is open, this is a hot-add. A model lives in one slot
     * once: its BAR memory is freed when that slot is removed.
     *
     * @throws IllegalArgumentException if a device is already present at {@code address}
     * @throws IllegalStateException    if the bus is closed, or {@code model} is already attached (here or on another
     *                                  bus), or was removed before (the message says where)
     */
    public MockPciBus add(PciAddress address, DeviceModel model, Mode mode) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(mode, "mode");
        MockFunction f;
        HotplugListener l;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("mock PCI bus is closed");
            }
            if (functions.containsKey(address)) {
                throw new IllegalArgumentException("a device is already present at " + address);
            }
            f = new MockFunction(address, model);
            model.attach(f);
            functions.put(address, f);
            l = listener;
        }
        if (mode == Mode.THREADED) {
            model.start(address.toString());
        }
        if (l != null) {
            l.added(f);
        }
        return this;
    }

    private synchronized MockFunction function(PciAddress address) {
        MockFunction f = functions.get(address);
        if (f == null) {
            throw new NoSuchElementException("no mock device at " + address);
        }
        return f;
    }

    /** {@return the IOMMU of the function at {@code address}} */
    public MockIommu iommu(PciAddress address) {
        return function(address).iommu();
    }

    /** {@return the model at {@code address}} */
    public DeviceModel model(PciAddress address) {
        return function(address).model();
    }

    /**
     * Removes the device in order, as {@code echo 1 > /sys/bus/pci/devices/BDF/remove} does (and as VFIO's request
     * interrupt asks): the driver's {@code remove} runs while the device still answers, the binding's resources are
     * released, then the model stops. Returns when all of it is done.
     *
     * @throws java.util.NoSuchElementException if no device is at {@code address}
     */
    public void remove(PciAddress address) {
        MockFunction f;
        HotplugListener l;
        synchronized (this) {
            f = function(address);
            l = listener;
        }
        try {
            if (l != null) {
                l.removalRequested(f); // removes the driver (BARs still live), releases, closes the function
            }
        } finally {
            synchronized (this) {
                functions.remove(address, f);
            }
            f.close();
        }
    }

    /**
     * Removes the device without warning, as when a cable is pulled: the driver's BAR windows are revoked at once
     * (every later access throws), then the driver's {@code remove} runs, then the model stops.
     */
    public void surpriseRemove(PciAddress address) {
        MockFunction f;
        HotplugListener l;
        synchronized (this) {
            f = function(address);
            functions.remove(address);
            l = listener;
        }
        if (l != null) {
            l.surpriseRemoved(f); // revokes, removes the driver, closes the function
        } else {
            f.close();
        }
    }

    /** Makes the next {@code count} config reads of the function fail with an I/O error (EIO). */
    public void failConfigReads(PciAddress address, int count) {
        function(address).failConfigReads(count);
    }

    /** Makes the function lose its next {@code count} interrupts. */
    public void dropInterrupts(PciAddress address, int count) {
        function(address).dropInterrupts(count);
    }

    /** Raises MSI-X vector {@code vector} of the function from outside the model (a spurious interrupt). */
    public void injectInterrupt(PciAddress address, int vector) {
        function(address).raise(vector);
    }

    @Override
    public String name() {
        return "mock";
    }

    @Override
    public synchronized List<PciFunction> functions() {
        return new ArrayList<>(functions.values());
    }

    @Override
    public synchronized void setHotplugListener(HotplugListener listener) {
        this.listener = listener;
    }

    /**
     * Stops every model still present and frees its memory. Functions handed to a {@link dev.ferrum.driver.pci.PciBus}
     * are closed by that bus first, after it has revoked the driver's views.
     */
    @Override
    public void close() {
        List<MockFunction> left;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            left = new ArrayList<>(functions.values());
            functions.clear();
        }
        for (MockFunction f : left) {
            f.close();
        }
    }
}
