/**
 * The PCI driver model, the counterpart of the kernel's {@code pci} abstractions: a {@link
 * dev.ferrum.driver.pci.PciBus} over a backend (real hardware through {@code dev.ferrum.driver.vfio}, or the mock
 * bus of {@code dev.ferrum.driver.mock}) probes the {@link dev.ferrum.driver.pci.PciDriver}s whose {@link
 * dev.ferrum.driver.pci.DeviceId} table matches a function, and removes them again. A driver sees a {@link
 * dev.ferrum.driver.pci.PciDevice}: checked config space, capabilities, BARs as revocable register windows
 * ({@link dev.ferrum.driver.pci.Devres}{@code <}{@link dev.ferrum.driver.pci.Bar}{@code >}), its DMA pool, MSI-X
 * {@link dev.ferrum.driver.pci.InterruptVector}s and reset. Everything a driver obtains belongs to its binding and is
 * released by the bus after {@code remove} (or after a failed {@code probe}). A removal the backend is asked for
 * (VFIO's request interrupt when the kernel wants the device back; {@code MockPciBus.remove}) is an unbind:
 * {@code remove} still reaches the device. On surprise removal the BARs are revoked first, so a driver still running
 * sees exceptions, never unmapped memory.
 *
 * {@snippet class=dev.ferrum.example.javadoc.PciExamplesTest region=bus}
 *
 * <p>A driver's ID table and probe, from the guide {@code docs/writing-a-driver.md}:
 * {@snippet class=dev.ferrum.example.checksum.ChecksumDriver region=id-table}
 * {@snippet class=dev.ferrum.example.checksum.ChecksumEngine region=probe}
 */
package dev.ferrum.driver.pci;
