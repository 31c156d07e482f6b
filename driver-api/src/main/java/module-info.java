/**
 * Ferrum's driver API: the Linux kernel's Rust driver abstractions mirrored in Java, and the two backends behind
 * one interface.
 *
 * <ul>
 *   <li>{@link dev.ferrum.driver.sync}: locks whose data is reachable only through a guard, condition variables,
 *       lock classes with an optional lock-order checker, saturating reference counts and {@code Arc}.</li>
 *   <li>{@link dev.ferrum.driver.workqueue}: workqueues, embedded work items, delayed work.</li>
 *   <li>{@link dev.ferrum.driver.pci}: the PCI driver model ({@code PciDriver}, {@code PciBus}, {@code PciDevice},
 *       BARs as revocable register windows, DMA, MSI-X); {@link dev.ferrum.driver.pci.spi} for backends.</li>
 *   <li>{@link dev.ferrum.driver.mock}: the mock PCI backend (device models, mock IOMMU, fault injection).</li>
 * </ul>
 */
module dev.ferrum.driver {
    requires transitive dev.ferrum.memory;
    requires org.slf4j;

    exports dev.ferrum.driver.sync;
    exports dev.ferrum.driver.workqueue;
    exports dev.ferrum.driver.pci;
    exports dev.ferrum.driver.pci.spi;
    exports dev.ferrum.driver.mock;
    exports dev.ferrum.driver.vfio;
}
