/**
 * A mock NVMe controller for the mock PCI bus: {@link dev.ferrum.nvme.mock.MockNvmeController}, a device model of
 * an NVMe 1.4 controller (registers, admin and NVM command sets, PRPs, MSI-X) with fault injection, written from
 * the specification independently of the driver in {@code dev.ferrum.nvme} so that each checks the other.
 *
 * <p>Public API: {@link dev.ferrum.nvme.mock.MockNvmeController} and its {@code Config}/{@code Namespace},
 * {@link dev.ferrum.nvme.mock.CommandView} (what the driver submitted), {@link dev.ferrum.nvme.mock.FaultRule}
 * (an injected fault) and {@link dev.ferrum.nvme.mock.CompletionCorruption}. Everything else is the model's
 * machinery and package-private.
 */
package dev.ferrum.nvme.mock;
