/**
 * The service-provider interface of PCI backends: what {@link dev.ferrum.driver.pci.PciBus} needs from a source of
 * PCI functions ({@link dev.ferrum.driver.pci.spi.PciBackend}, {@link dev.ferrum.driver.pci.spi.PciFunction},
 * {@link dev.ferrum.driver.pci.spi.BarInfo}, {@link dev.ferrum.driver.pci.spi.HotplugListener}). Ferrum has two
 * backends, {@code dev.ferrum.driver.vfio.VfioBackend} and {@code dev.ferrum.driver.mock.MockPciBus}. Drivers never
 * use this package: they see {@link dev.ferrum.driver.pci.PciDevice}, which checks every argument before a backend
 * is called.
 *
 * {@snippet class=dev.ferrum.example.javadoc.PciExamplesTest region=backend}
 */
package dev.ferrum.driver.pci.spi;
