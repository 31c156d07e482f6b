package dev.ferrum.nvme.tools;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.spi.PciBackend;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeOptions;

/**
 * The controller a tool works on: the real one at {@code --pci} through VFIO, or a mock NVMe controller on a mock
 * PCI bus. This is the only place the tools choose a backend; the driver code is the same for both.
 */
final class Target implements AutoCloseable {
    static final PciAddress MOCK_ADDRESS = PciAddress.parse("0000:00:04.0");

    final PciBus bus;
    final NvmeController ctrl;
    final boolean mock;

    private Target(PciBus bus, NvmeController ctrl, boolean mock) {
        this.bus = bus;
        this.ctrl = ctrl;
        this.mock = mock;
    }

    static Target open(TargetOptions o, NvmeOptions.Builder options) {
        if (o.noInterrupts) {
            options.interrupts(false);
        }
        PciBackend backend;
        PciAddress address;
        if (o.pci != null) {
            address = PciAddress.parse(o.pci);
            backend = Backends.vfio(address);
        } else {
            address = MOCK_ADDRESS;
            backend = new MockPciBus().add(address, MockControllers.create(o), MockPciBus.Mode.THREADED);
        }
        PciBus bus = PciBus.open(backend);
        try {
            return new Target(bus, NvmeController.attach(bus, address, options.build()), o.pci == null);
        } catch (RuntimeException e) {
            bus.close();
            throw e;
        }
    }

    /** A target over a controller attached elsewhere (tests); closing it closes nothing. */
    static Target over(NvmeController ctrl) {
        return new Target(null, ctrl, false);
    }

    Namespace namespace(TargetOptions o) {
        return ctrl.namespace(o.namespace);
    }

    String describe() {
        return (mock ? "mock NVMe controller" : "NVMe controller") + " at " + ctrl.address()
                + (bus == null ? "" : " (" + bus.backendName() + " backend)");
    }

    @Override
    public void close() {
        if (bus == null) {
            return;
        }
        try {
            ctrl.close();
        } finally {
            bus.close();
        }
    }
}
