package dev.ferrum.driver.pci.spi;

/**
 * What a backend knows about one BAR.
 *
 * @param index         BAR number, 0 to 5
 * @param size          size of the BAR in bytes (a power of two), 0 if not implemented
 * @param memory        memory space (true) or I/O space (false)
 * @param is64Bit       a 64-bit memory BAR (it occupies this and the next BAR register)
 * @param prefetchable  prefetchable memory
 * @param mappableSize  how many bytes from offset 0 can be memory-mapped (0 if none; less than size when the
 *                      backend cannot map all of it, e.g. a VFIO sparse mapping)
 *
 * <p>Invariants: {@code index} is 0..5 and {@code 0 <= mappableSize <= size} (the constructor refuses anything
 * else); {@link #present()} exactly when {@code size > 0}.
 */
public record BarInfo(int index, long size, boolean memory, boolean is64Bit, boolean prefetchable,
                      long mappableSize) {
    public BarInfo {
        if (index < 0 || index > 5) {
            throw new IllegalArgumentException("BAR index " + index + " is not 0..5");
        }
        if (size < 0 || mappableSize < 0 || mappableSize > size) {
            throw new IllegalArgumentException("BAR" + index + " size " + size + ", mappable " + mappableSize);
        }
    }

    /** {@return whether the BAR is implemented} */
    public boolean present() {
        return size > 0;
    }
}
