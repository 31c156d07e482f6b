package dev.ferrum.agx.firmware;

import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.Pte;
import dev.ferrum.driver.mock.DmaEngine;
import dev.ferrum.driver.mock.IommuFaultException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The simulated GPU's MMU: walks the UAT the driver built (format: {@link Pte}) through the DMA engine, and caches
 * leaf descriptors in a small TLB that only a TLB invalidation (or a reset) clears, as real hardware does. A walk
 * that finds no valid descriptor, a write to a read-only page, or a table the IOMMU blocks is a {@link GpuFault}
 * at the virtual address.
 *
 * <p>Invariants: a cached translation came from a walk of the current table root; the TLB never holds more than
 * {@value #ENTRIES} entries. Used only by the firmware under its model lock.
 */
final class GpuMmu {
    static final int ENTRIES = 64;

    private final Map<Long, Long> tlb = new LinkedHashMap<>(ENTRIES * 2, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Long> eldest) {
            return size() > ENTRIES;
        }
    };
    private long ttbr;

    void reset(long ttbr) {
        this.ttbr = ttbr;
        tlb.clear();
    }

    int cachedTranslations() {
        return tlb.size();
    }

    /** {@return the device address of GPU VA {@code va}} */
    long translate(DmaEngine dma, long va, boolean write) throws GpuFault {
        if (va < 0 || va >= Pte.VA_LIMIT) {
            throw new GpuFault(va, write, 0);
        }
        long vpn = va >>> Pte.PAGE_SHIFT;
        Long cached = tlb.get(vpn);
        long pte;
        if (cached != null) {
            pte = cached;
        } else {
            long table = ttbr;
            pte = 0;
            for (int level = 0; level < Pte.LEVELS; level++) {
                long e;
                try {
                    e = dma.readLong(table + 8L * Pte.index(va, level));
                } catch (IommuFaultException blocked) {
                    throw new GpuFault(va, write, CommandLayout.FAULT_IOMMU);
                }
                if (!Pte.isValid(e)) {
                    throw new GpuFault(va, write, 0);
                }
                if (level < Pte.LEVELS - 1) {
                    table = e & Pte.ADDRESS_MASK;
                } else {
                    pte = e;
                }
            }
            tlb.put(vpn, pte);
        }
        if (write && (pte & Pte.READ_ONLY) != 0) {
            throw new GpuFault(va, true, CommandLayout.FAULT_PERMISSION);
        }
        return (pte & Pte.ADDRESS_MASK) | (va & (Pte.PAGE_SIZE - 1));
    }

    /** Drops cached translations of {@code [va, va + size)}. */
    void invalidate(long va, long size) {
        long first = va >>> Pte.PAGE_SHIFT;
        long last = (va + Math.max(size, 1) - 1) >>> Pte.PAGE_SHIFT;
        if (last - first > ENTRIES) {
            tlb.keySet().removeIf(vpn -> vpn >= first && vpn <= last);
        } else {
            for (long p = first; p <= last; p++) {
                tlb.remove(p);
            }
        }
    }

    /** {@return the virtual page numbers with a cached translation} */
    long[] cachedPages() {
        long[] out = new long[tlb.size()];
        int i = 0;
        for (long vpn : tlb.keySet()) {
            out[i++] = vpn;
        }
        return out;
    }
}
