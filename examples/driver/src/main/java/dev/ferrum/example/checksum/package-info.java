/**
 * The driver of the CSUM-1 checksum accelerator: the example that {@code docs/writing-a-driver.md} builds step by
 * step. {@link dev.ferrum.example.checksum.ChecksumDriver} is the {@code PciDriver} (ID table, probe, remove);
 * {@link dev.ferrum.example.checksum.ChecksumEngine} is one bound device and the driver's public API (allocate DMA
 * memory, submit a job, get a {@code CompletableFuture}). The device's model is in
 * {@link dev.ferrum.example.checksum.model}.
 */
package dev.ferrum.example.checksum;
