package dev.ferrum.driver.pci.spi;

import java.util.List;

/**
 * A source of PCI functions: the VFIO backend (real hardware) or the mock bus (device models). Implemented by
 * backends; drivers never see it. A {@link dev.ferrum.driver.pci.PciBus} owns its backend and closes it.
 *
 * <p>Invariants: {@link #functions()} lists each present function once; a function reported removed through the
 * {@link HotplugListener} is never listed again.
 */
public interface PciBackend extends AutoCloseable {

    /** {@return a short name for messages, e.g. {@code "vfio"} or {@code "mock"}} */
    String name();

    /** {@return the functions currently present} */
    List<PciFunction> functions();

    /** Registers the listener the backend calls on hot-add and surprise removal (at most one: the bus). */
    void setHotplugListener(HotplugListener listener);

    /** Releases the backend (closes container, device models). Functions must have been closed before. */
    @Override
    void close();
}
