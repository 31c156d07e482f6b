package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.DmaEngine;
import dev.ferrum.driver.mock.IommuFaultException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.ferrum.nvme.mock.Layout.U64;

/**
 * Moves a command's data between host memory, described by PRP1/PRP2 (NVMe 1.4 section 4.3), and the medium or a
 * controller buffer. Validates what the host wrote as it walks: PRP1 may carry a dword-aligned offset into its
 * page; PRP2 is either the second (page-aligned) page or, when more than two pages are needed, a qword-aligned
 * pointer to a PRP list; list entries must be page aligned; when more entries are needed than fit in the rest of a
 * list page, the last entry of that page points to the next list page.
 *
 * <p>Invariants: never touches more than {@code length} bytes of host memory; the walk ends after at most
 * {@code length / pageSize + 2} list pages even if the host built a loop of list pointers; one instance serves the
 * controller thread (not thread-safe, no allocation per page except the list-page slice).
 */
final class PrpTransfer {
    private static final int STORE_TO_HOST = 0;
    private static final int HOST_TO_STORE = 1;
    private static final int BUFFER_TO_HOST = 2;
    private static final int HOST_TO_BUFFER = 3;

    private final MemorySegment list;
    private DmaEngine dma;
    private int kind;
    private BlockStore store;
    private long storeOffset;
    private MemorySegment buffer;
    private long bufferLength;
    private long done;

    PrpTransfer(int maxPageSize) {
        this.list = Arena.ofAuto().allocate(maxPageSize, 8);
    }

    /** Reads {@code length} medium bytes at {@code offset} into host memory. {@return a status} */
    int storeToHost(DmaEngine engine, BlockStore s, long offset, long prp1, long prp2, long length, int pageSize) {
        store = s;
        storeOffset = offset;
        return run(engine, STORE_TO_HOST, prp1, prp2, length, pageSize);
    }

    /** Writes {@code length} bytes of host memory to the medium at {@code offset}. {@return a status} */
    int hostToStore(DmaEngine engine, BlockStore s, long offset, long prp1, long prp2, long length, int pageSize) {
        store = s;
        storeOffset = offset;
        return run(engine, HOST_TO_STORE, prp1, prp2, length, pageSize);
    }

    /**
     * Copies the first {@code available} bytes of {@code src} to host memory and zeroes the rest of the
     * {@code length}-byte transfer. {@return a status}
     */
    int bufferToHost(DmaEngine engine, MemorySegment src, long available, long prp1, long prp2, long length,
                     int pageSize) {
        buffer = src;
        bufferLength = available;
        return run(engine, BUFFER_TO_HOST, prp1, prp2, length, pageSize);
    }

    /** Copies {@code dst.byteSize()} bytes of host memory into {@code dst}. {@return a status} */
    int hostToBuffer(DmaEngine engine, MemorySegment dst, long prp1, long prp2, int pageSize) {
        buffer = dst;
        bufferLength = dst.byteSize();
        return run(engine, HOST_TO_BUFFER, prp1, prp2, dst.byteSize(), pageSize);
    }

    private int run(DmaEngine engine, int k, long prp1, long prp2, long length, int pageSize) {
        dma = engine;
        kind = k;
        done = 0;
        try {
            return walk(prp1, prp2, length, pageSize);
        } catch (IommuFaultException e) {
            return Status.DATA_TRANSFER_ERROR;
        } finally {
            store = null;
            buffer = null;
            dma = null;
        }
    }

    private int walk(long prp1, long prp2, long length, int pageSize) {
        long mask = pageSize - 1L;
        if ((prp1 & 3) != 0) {
            return Status.INVALID_PRP_OFFSET;
        }
        long first = Math.min(length, pageSize - (prp1 & mask));
        move(prp1, first);
        long remaining = length - first;
        if (remaining == 0) {
            return Status.SUCCESS;
        }
        if (remaining <= pageSize) {
            if ((prp2 & mask) != 0) {
                return Status.INVALID_PRP_OFFSET;
            }
            move(prp2, remaining);
            return Status.SUCCESS;
        }
        long listAddress = prp2;
        long hops = remaining / pageSize + 2;
        while (remaining > 0) {
            if ((listAddress & 7) != 0 || hops-- == 0) {
                return Status.INVALID_PRP_OFFSET;
            }
            int inPage = (int) ((pageSize - (listAddress & mask)) >>> 3);
            long pagesLeft = (remaining + pageSize - 1) / pageSize;
            boolean chained = pagesLeft > inPage;
            int entries = chained ? inPage : (int) pagesLeft;
            dma.read(listAddress, list.asSlice(0, (long) entries << 3));
            int data = chained ? entries - 1 : entries;
            for (int i = 0; i < data; i++) {
                long page = (long) U64.get(list, (long) i << 3);
                if ((page & mask) != 0) {
                    return Status.INVALID_PRP_OFFSET;
                }
                long n = Math.min(remaining, pageSize);
                move(page, n);
                remaining -= n;
            }
            if (chained) {
                listAddress = (long) U64.get(list, (long) data << 3);
            }
        }
        return Status.SUCCESS;
    }

    private void move(long iova, long n) {
        switch (kind) {
            case STORE_TO_HOST -> store.toHost(dma, storeOffset + done, n, iova);
            case HOST_TO_STORE -> store.fromHost(dma, storeOffset + done, n, iova);
            case BUFFER_TO_HOST -> {
                long copy = Math.max(0, Math.min(n, bufferLength - done));
                if (copy > 0) {
                    dma.write(iova, buffer.asSlice(done, copy));
                }
                if (copy < n) {
                    dma.fill(iova + copy, n - copy, (byte) 0);
                }
            }
            default -> dma.read(iova, buffer.asSlice(done, n));
        }
        done += n;
    }
}
