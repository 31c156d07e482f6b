package dev.ferrum.driver.pci.spi;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One PCI function as a backend provides it: raw config space, BAR mapping and slow BAR access, the DMA address
 * space, interrupt wiring and reset. {@link dev.ferrum.driver.pci.PciDevice} wraps it with checks and life-cycle
 * management; drivers never see this interface.
 *
 * <p>Invariants (what an implementation guarantees): arguments are validated by {@code PciDevice} before the call
 * (offsets in range and aligned, BAR index present), and implementations report device-side failures (an I/O error
 * on a config access, a failed ioctl) with exceptions naming the function; once {@link #disableMsix()} or
 * {@link #close()} has returned, no eventfd handed to {@link #enableMsix} is signalled by the backend; a segment
 * from {@link #mapBar} is valid until its arena closes and is never made over freed memory; {@code close} is
 * idempotent, and a BAR is neither mapped nor accessed after it.
 */
public interface PciFunction {

    /** {@return the function's address} */
    PciAddress address();

    /** {@return the config space size: 256 (conventional) or 4096 (PCI Express extended)} */
    int configSize();

    /** {@return {@code width} bytes (1, 2 or 4) of config space at {@code offset}, zero-extended} */
    int configRead(int offset, int width);

    /** Writes {@code width} bytes (1, 2 or 4) of config space at {@code offset}. */
    void configWrite(int offset, int width, int value);

    /** {@return information about BAR {@code index}} */
    BarInfo barInfo(int index);

    /**
     * Maps the first {@link BarInfo#mappableSize()} bytes of BAR {@code index} into memory, as a segment whose
     * lifetime is {@code arena}: closing the arena unmaps it (the revocation of the driver's view).
     */
    MemorySegment mapBar(int index, Arena arena);

    /**
     * {@return {@code width} bytes (1, 2, 4 or 8) of BAR {@code index} at {@code offset}, zero-extended, little
     * endian} Without a mapping: it reaches every byte of the BAR, also what {@link #mapBar} cannot map (VFIO:
     * {@code pread} on the device file; the mock: the model's BAR memory). The caller has checked the index (0..5);
     * the implementation refuses the rest.
     *
     * @throws IllegalArgumentException  if the width is not 1, 2, 4 or 8, the BAR is not implemented, or the offset
     *                                   is not a multiple of the width
     * @throws IndexOutOfBoundsException if the access is not inside the BAR
     */
    long barRead(int index, long offset, int width);

    /**
     * Writes {@code value}, which must fit {@code width} bytes, to BAR {@code index} at {@code offset}; see
     * {@link #barRead}.
     *
     * @throws IllegalArgumentException  as for {@link #barRead}, and if the value does not fit
     * @throws IndexOutOfBoundsException if the access is not inside the BAR
     */
    void barWrite(int index, long offset, int width, long value);

    /** {@return the address space the function's DMA goes through} */
    DeviceAddressSpace addressSpace();

    /** {@return whether DMA memory for this function must be locked ({@code REQUIRE} for real hardware)} */
    DmaPool.MemoryLock dmaMemoryLock();

    /** {@return the number of MSI-X vectors the function supports (0 if none)} */
    int msixVectors();

    /**
     * Routes MSI-X vector {@code i} to {@code eventfds[i]}: the backend signals the eventfd (adds 1) when the
     * function raises the vector. Replaces any earlier routing.
     */
    void enableMsix(int[] eventfds);

    /** Disables MSI-X; no eventfd is signalled afterwards. */
    void disableMsix();

    /** Resets the function (function-level reset, or the backend's equivalent). */
    void reset();

    /** Releases the backend's handles on the function. */
    void close();
}
