package dev.ferrum.agx.firmware;

import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.Pte;
import dev.ferrum.driver.mock.DmaEngine;
import dev.ferrum.driver.mock.IommuFaultException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The simulated GPU's three compute kernels, executed page by page through the {@link GpuMmu}: every access is
 * translated, and every translated access goes through the DMA engine (the mock IOMMU). A fault stops the kernel at
 * the first byte it could not reach; what was written before stays written, as on a GPU.
 *
 * <p>Invariants: no byte outside the command's ranges is touched; chunks never cross a 4 KiB page of either range.
 */
final class Kernels {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int PAGE = (int) Pte.PAGE_SIZE;

    private final GpuMmu mmu;
    /** A page and a word of scratch, 8-byte aligned. */
    private final MemorySegment a = MemorySegment.ofArray(new long[PAGE / 8 + 1]);
    private final MemorySegment b = MemorySegment.ofArray(new long[PAGE / 8 + 1]);

    Kernels(GpuMmu mmu) {
        this.mmu = mmu;
    }

    private static long pageLeft(long va) {
        return PAGE - (va & (PAGE - 1));
    }

    private long reach(DmaEngine dma, long va, boolean write) throws GpuFault {
        return mmu.translate(dma, va, write);
    }

    /** Fills {@code bytes} at {@code dst} with the little-endian 32-bit {@code pattern}. */
    void fill(DmaEngine dma, long dst, long bytes, int pattern) throws GpuFault {
        for (int i = 0; i < PAGE / 4 + 1; i++) {
            a.setAtIndex(I32, i, pattern);
        }
        long off = 0;
        while (off < bytes) {
            long va = dst + off;
            int n = (int) Math.min(bytes - off, pageLeft(va));
            long iova = reach(dma, va, true);
            try {
                dma.write(iova, a.asSlice(off & 3, n));
            } catch (IommuFaultException e) {
                throw new GpuFault(va, true, CommandLayout.FAULT_IOMMU);
            }
            off += n;
        }
    }

    /** Copies {@code bytes} from {@code src} to {@code dst} (front to back). */
    void copy(DmaEngine dma, long src, long dst, long bytes) throws GpuFault {
        long off = 0;
        while (off < bytes) {
            int n = (int) Math.min(bytes - off, Math.min(pageLeft(src + off), pageLeft(dst + off)));
            long from = reach(dma, src + off, false);
            MemorySegment chunk = a.asSlice(0, n);
            try {
                dma.read(from, chunk);
            } catch (IommuFaultException e) {
                throw new GpuFault(src + off, false, CommandLayout.FAULT_IOMMU);
            }
            long to = reach(dma, dst + off, true);
            try {
                dma.write(to, chunk);
            } catch (IommuFaultException e) {
                throw new GpuFault(dst + off, true, CommandLayout.FAULT_IOMMU);
            }
            off += n;
        }
    }

    /** {@code y[i] = alpha * x[i] + y[i]} for {@code n} floats; {@code x} and {@code y} are 4-byte aligned. */
    void saxpy(DmaEngine dma, float alpha, long x, long y, long n) throws GpuFault {
        long bytes = n * 4;
        long off = 0;
        while (off < bytes) {
            int len = (int) Math.min(bytes - off, Math.min(pageLeft(x + off), pageLeft(y + off)));
            long xs = reach(dma, x + off, false);
            long ys = reach(dma, y + off, true);
            MemorySegment xv = a.asSlice(0, len);
            MemorySegment yv = b.asSlice(0, len);
            try {
                dma.read(xs, xv);
            } catch (IommuFaultException e) {
                throw new GpuFault(x + off, false, CommandLayout.FAULT_IOMMU);
            }
            try {
                dma.read(ys, yv);
            } catch (IommuFaultException e) {
                throw new GpuFault(y + off, false, CommandLayout.FAULT_IOMMU);
            }
            for (int i = 0; i < len / 4; i++) {
                yv.setAtIndex(F32, i, alpha * xv.getAtIndex(F32, i) + yv.getAtIndex(F32, i));
            }
            try {
                dma.write(ys, yv);
            } catch (IommuFaultException e) {
                throw new GpuFault(y + off, true, CommandLayout.FAULT_IOMMU);
            }
            off += len;
        }
    }
}
