package dev.ferrum.driver.pci.spi;

/** How a backend tells the bus that functions appeared or vanished. Called on the backend's own thread. */
public interface HotplugListener {

    /** A function was added. */
    void added(PciFunction function);

    /**
     * A function vanished without warning (surprise removal): its BARs must be revoked at once, then its driver
     * removed. Returns after both happened.
     */
    void surpriseRemoved(PciFunction function);
}
