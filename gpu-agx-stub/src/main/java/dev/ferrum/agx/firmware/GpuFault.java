package dev.ferrum.agx.firmware;

import dev.ferrum.agx.internal.fw.CommandLayout;

/**
 * A GPU MMU fault inside the simulated firmware: the access, and why. Control flow only (no stack trace): the
 * firmware turns it into a command result and a fault event.
 *
 * <p>Invariants: {@link #flags} include {@link CommandLayout#FAULT_WRITE} exactly when the access was a write.
 */
final class GpuFault extends Exception {
    private static final long serialVersionUID = 1L;

    final long address;
    /** {@link CommandLayout#FAULT_WRITE} and friends. */
    final int flags;

    GpuFault(long address, boolean write, int reasonFlags) {
        super("GPU fault at 0x" + Long.toHexString(address), null, false, false);
        this.address = address;
        this.flags = (write ? CommandLayout.FAULT_WRITE : 0) | reasonFlags;
    }
}
