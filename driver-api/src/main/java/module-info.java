/**
 * The driver API: the kernel's Rust driver abstractions mirrored (PCI driver model; sync and workqueue arrive with
 * their own packages), and the two backends behind one interface: VFIO for real hardware and a mock PCI bus.
 */
module dev.ferrum.driver {
    requires transitive dev.ferrum.memory;
    requires org.slf4j;

    exports dev.ferrum.driver.pci;
    exports dev.ferrum.driver.pci.spi;
    exports dev.ferrum.driver.mock;
    exports dev.ferrum.driver.vfio;
}
