/**
 * A userspace NVMe driver on Ferrum's safe abstractions (NVM Express Base Specification 1.4, NVM command set):
 * {@link dev.ferrum.nvme.NvmeDriver} binds to every NVMe controller (class 01:08:02) on a {@code PciBus} and
 * brings up an {@link dev.ferrum.nvme.NvmeController}; {@link dev.ferrum.nvme.NvmeController#attach} does the same
 * for one function. Reads, writes, flushes, write-zeroes and deallocates go through {@link
 * dev.ferrum.nvme.IoQueuePair}s (synchronous, {@code CompletableFuture}, or allocation-free callbacks) on a {@link
 * dev.ferrum.nvme.Namespace}. The same code runs on the mock NVMe controller ({@code dev.ferrum.nvme.mock}) and
 * on a real controller bound to vfio-pci.
 *
 * {@snippet class=dev.ferrum.example.javadoc.NvmeExamplesTest region=attach}
 * {@snippet class=dev.ferrum.example.javadoc.NvmeExamplesTest region=driver}
 */
package dev.ferrum.nvme;
