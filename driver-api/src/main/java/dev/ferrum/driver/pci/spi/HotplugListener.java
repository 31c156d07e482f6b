package dev.ferrum.driver.pci.spi;

/**
 * How a backend tells the bus that functions appeared or are going away. Called on the backend's own thread.
 *
 * <p>Two kinds of removal, as in Linux: an orderly one ({@link #removalRequested}: the kernel or the user asks for
 * the device back while it still answers, as {@code echo 1 > /sys/bus/pci/devices/BDF/remove} or an attention
 * button does; the driver's {@code remove} can still talk to the hardware, e.g. to shut a controller down cleanly),
 * and a surprise one ({@link #surpriseRemoved}: the hardware is already gone; register access is cut before the
 * driver hears of it).
 *
 * <p>Invariants (of the bus's listener): each call returns only after what it describes has happened; a call about
 * a function the bus does not know (never added, already removed) or made after the bus closed does nothing; after
 * either removal the function has been closed and is never handed to a driver again.
 */
public interface HotplugListener {

    /**
     * A function was added. The bus identifies it and probes its drivers; a function that cannot be identified
     * (vendor ID 0xffff, a failed config read) is skipped and closed.
     */
    void added(PciFunction function);

    /**
     * Somebody asked for the function back while it still works: unbind its driver ({@code remove} runs with the
     * BARs still mapped), release every resource of the binding, then close the function. Returns after all of
     * it happened; does nothing for a function the bus does not know (already removed or the bus closed).
     */
    void removalRequested(PciFunction function);

    /**
     * A function vanished without warning (surprise removal): its BARs must be revoked at once, then its driver
     * removed. Returns after both happened.
     */
    void surpriseRemoved(PciFunction function);
}
