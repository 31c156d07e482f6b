package dev.ferrum.driver.pci;

import dev.ferrum.memory.Mmio;

/**
 * A mapped PCI memory BAR: its register window. Obtained from {@link PciDevice#bar(int)} as a {@link Devres}.
 *
 * <p>Invariants: {@link #mmio()} covers the mapped part of the BAR from offset 0 ({@link #size()} bytes, which is
 * the whole BAR unless the backend can map only part of it); when the device is removed or the driver unbound the
 * window is revoked and every access throws {@link dev.ferrum.memory.RevokedException}.
 */
public final class Bar {
    private final int index;
    private final long barSize;
    private final Mmio mmio;
    private final boolean prefetchable;

    Bar(int index, long barSize, Mmio mmio, boolean prefetchable) {
        this.index = index;
        this.barSize = barSize;
        this.mmio = mmio;
        this.prefetchable = prefetchable;
    }

    /** {@return the BAR number} */
    public int index() {
        return index;
    }

    /** {@return the mapped size in bytes} */
    public long size() {
        return mmio.size();
    }

    /** {@return the BAR's full size as the device reports it} */
    public long barSize() {
        return barSize;
    }

    /** {@return whether the BAR is prefetchable memory} */
    public boolean prefetchable() {
        return prefetchable;
    }

    /** {@return the register window} */
    public Mmio mmio() {
        return mmio;
    }

    @Override
    public String toString() {
        return mmio.name() + " (" + mmio.size() + " bytes" + (prefetchable ? ", prefetchable)" : ")");
    }
}
