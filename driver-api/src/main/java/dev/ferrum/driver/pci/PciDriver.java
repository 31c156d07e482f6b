package dev.ferrum.driver.pci;

import java.util.List;

/**
 * A PCI driver: the counterpart of the kernel's {@code pci::Driver}. The {@link PciBus} calls {@link #probe} for each
 * function that matches an entry of {@link #idTable()} and is not bound, and {@link #remove} when the function goes
 * away (unbind, driver unregistration, bus close, or surprise removal).
 *
 * <p>Contract: {@code probe} either succeeds, leaving the driver bound, or throws, in which case the bus releases
 * everything the device acquired during probe (BAR mappings, DMA pools, interrupt vectors). {@code remove} is
 * called exactly once per successful probe; after a surprise removal the device's BARs are already revoked when
 * {@code remove} runs, so register accesses throw {@link dev.ferrum.memory.RevokedException} and {@code remove}
 * must tolerate that. Resources obtained from the {@link PciDevice} are released by the bus after {@code remove}.
 *
 * <p>Invariants (what the bus guarantees a driver): {@code probe} is called only for a function on the bus that matches
 * an entry of {@link #idTable()} and is bound to no driver; {@code remove} is called exactly once for each
 * successful {@code probe} and never after a failed one; calls into drivers of one bus are serialized (never two
 * {@code probe}/{@code remove} calls at once).
 *
 * <p>The driver of the guide {@code docs/writing-a-driver.md} (a checksum accelerator): its ID table,
 * {@snippet class=dev.ferrum.example.checksum.ChecksumDriver region=id-table}
 * its probe and remove, which keep one engine per bound device,
 * {@snippet class=dev.ferrum.example.checksum.ChecksumDriver region=driver-probe}
 * {@snippet class=dev.ferrum.example.checksum.ChecksumDriver region=driver-remove}
 * and the engine's probe, which takes the device's resources:
 * {@snippet class=dev.ferrum.example.checksum.ChecksumEngine region=probe}
 */
public interface PciDriver {

    /** {@return the driver's name, e.g. {@code "ferrum-nvme"}} */
    String name();

    /** {@return the functions this driver handles; the first matching entry is passed to {@link #probe}} */
    List<DeviceId> idTable();

    /**
     * Binds the driver to {@code device}.
     *
     * @param id the entry of {@link #idTable()} that matched
     * @throws Exception if the device cannot be driven; the bus leaves it unbound and releases its resources
     */
    void probe(PciDevice device, DeviceId id) throws Exception;

    /** Unbinds the driver from {@code device}: stop the device, complete or fail outstanding work. */
    void remove(PciDevice device);
}
