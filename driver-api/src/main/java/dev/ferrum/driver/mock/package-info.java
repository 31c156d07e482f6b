/**
 * The mock PCI backend: an in-process {@link dev.ferrum.driver.mock.MockPciBus} of {@link
 * dev.ferrum.driver.mock.DeviceModel}s that behave like silicon (they see only what the driver writes into their
 * BARs, reach host memory only through a {@link dev.ferrum.driver.mock.MockIommu} that faults on anything not
 * mapped, and raise MSI-X interrupts on their own thread), with fault injection: surprise removal, failing config
 * reads, lost and spurious interrupts. Drivers run on it unchanged; tests, CI and the demos use it.
 *
 * {@snippet class=dev.ferrum.example.checksum.ChecksumDriverTest region=usage}
 *
 * <p>A model can also run only when a test steps it ({@link dev.ferrum.driver.mock.MockPciBus.Mode#STEPPED}),
 * which makes device behaviour deterministic:
 * {@snippet class=dev.ferrum.example.javadoc.PciExamplesTest region=stepped}
 *
 * <p>Every DMA the IOMMU blocks is recorded:
 * {@snippet class=dev.ferrum.example.javadoc.PciExamplesTest region=iommu}
 *
 * <p>Writing a model: extend {@link dev.ferrum.driver.mock.DeviceModel}, describe the PCI identity with {@link
 * dev.ferrum.driver.mock.DeviceConfig}, and implement {@code process()} and {@code reset()}, as the guide's
 * checksum accelerator does:
 * {@snippet class=dev.ferrum.example.checksum.model.ChecksumAccelerator region=model-process}
 * A model goes into one slot, once: its BAR memory is freed when the slot is removed, so adding a device again
 * takes a new model ({@code MockPciBus.add} refuses a model that is attached or was removed).
 */
package dev.ferrum.driver.mock;
