package dev.ferrum.agx.internal;

import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.agx.internal.fw.Pte;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.IovaAllocator;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The GPU's address space and its page tables (Asahi {@code mmu.rs}: {@code Vm}, {@code Mapping}; the page table
 * itself is the kernel's {@code io_pgtable} there): a GPU virtual address allocator and a three-level table of
 * 64-bit descriptors in DMA memory that the firmware walks (format: {@link Pte}).
 *
 * <p>Mapping: a VA range is allocated with one unmapped guard page after it (an overrun faults instead of reaching
 * the next buffer); missing level-1/2 tables are allocated zeroed and linked into their parent; then a page
 * descriptor is written for every 4 KiB page. Unmapping is two-phase, because the firmware caches translations:
 * {@link #unmap} clears the descriptors and unlinks tables that became empty, then the caller sends a TLB
 * invalidation and waits for the firmware to acknowledge it, and only then calls {@link Unmapped#release()}, which
 * frees the emptied tables and returns the VA range.
 *
 * <p>Memory ordering: descriptors are written with release stores. A new table is zeroed before the release store
 * that links it, so a walker never follows a link into garbage. The firmware reads descriptors with acquire loads.
 *
 * <p>Invariants: a VA range is handed out once until released; each table's live count equals its number of valid
 * descriptors; a table is freed only after it was unlinked and the unlink was invalidated; the root table lives
 * until {@link #close()}.
 */
public final class Uat implements AutoCloseable {
    /** A mapped buffer: its GPU VA, length (whole pages) and permission. */
    public record Mapping(long va, long size, boolean readOnly) {}

    private static final class Table {
        final DmaBuffer buffer;
        final MemorySegment view;
        int live;

        Table(DmaBuffer buffer) {
            this.buffer = buffer;
            this.view = buffer.segment();
            view.fill((byte) 0);
        }
    }

    private static final class State {
        /** Level-1 tables by level-0 index; level-2 tables by (l0 << 9 | l1). */
        final Map<Integer, Table> level1 = new HashMap<>();
        final Map<Integer, Table> level2 = new HashMap<>();
        boolean closed;
    }

    private final DmaPool pool;
    private final IovaAllocator vas;
    private final Table root;
    private final Mutex<State> lock = new Mutex<>(new State(), LockClass.named("agx.uat"));

    /**
     * @param vaBase  first GPU VA handed out (page aligned, above 0 so that null pointers fault)
     * @param vaLimit one past the last (at most {@link Pte#VA_LIMIT})
     */
    public Uat(DmaPool pool, long vaBase, long vaLimit) {
        if (vaBase <= 0 || (vaBase & (Pte.PAGE_SIZE - 1)) != 0 || vaLimit > Pte.VA_LIMIT || vaLimit <= vaBase) {
            throw new IllegalArgumentException("GPU VA window [0x" + Long.toHexString(vaBase) + ", 0x"
                    + Long.toHexString(vaLimit) + ") is not a page-aligned, non-empty part of the "
                    + Pte.VA_BITS + "-bit space above 0");
        }
        this.pool = pool;
        this.vas = new IovaAllocator(vaBase, vaLimit);
        this.root = new Table(pool.allocate(Pte.TABLE_SIZE));
    }

    /** {@return the device address of the level-0 table (the TTBR the firmware starts its walks at)} */
    public long ttbr() {
        return root.buffer.deviceAddress();
    }

    /**
     * Maps all of {@code buffer} at a fresh GPU VA.
     *
     * @throws IllegalStateException if the VA space is exhausted or the UAT is closed
     */
    public Mapping map(DmaBuffer buffer, boolean readOnly) {
        long size = buffer.byteSize();
        if ((size & (Pte.PAGE_SIZE - 1)) != 0 || (buffer.deviceAddress() & (Pte.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(buffer + " is not whole 4 KiB pages");
        }
        try (Guard<State> g = lock.lock()) {
            State s = g.get();
            if (s.closed) {
                throw new IllegalStateException("the GPU address space is closed");
            }
            long va = vas.allocate(size + Pte.PAGE_SIZE, Pte.PAGE_SIZE); // + the guard page
            List<Table> created = new ArrayList<>();
            long done = 0;
            try {
                for (; done < size; done += Pte.PAGE_SIZE) {
                    Table leaf = leafTable(s, va + done, created);
                    long off = (long) Pte.index(va + done, 2) * 8;
                    // Release: the walker that sees this descriptor sees the zeroed or filled table around it.
                    Le.LONG.setRelease(leaf.view, off, Pte.page(buffer.deviceAddress() + done, readOnly));
                    leaf.live++;
                }
            } catch (RuntimeException e) {
                List<Table> emptied = clear(s, va, done);
                for (Table t : emptied) {
                    t.buffer.close(); // never visible to the firmware as populated: no invalidation needed
                }
                vas.free(va, size + Pte.PAGE_SIZE);
                throw e;
            }
            return new Mapping(va, size, readOnly);
        }
    }

    /** The level-2 table covering {@code va}, created (and linked) if missing. */
    private Table leafTable(State s, long va, List<Table> created) {
        int i0 = Pte.index(va, 0);
        int i1 = Pte.index(va, 1);
        Table l1 = s.level1.get(i0);
        if (l1 == null) {
            l1 = new Table(pool.allocate(Pte.TABLE_SIZE));
            created.add(l1);
            s.level1.put(i0, l1);
            Le.LONG.setRelease(root.view, (long) i0 * 8, Pte.table(l1.buffer.deviceAddress()));
            root.live++;
        }
        int key = i0 << Pte.BITS_PER_LEVEL | i1;
        Table l2 = s.level2.get(key);
        if (l2 == null) {
            l2 = new Table(pool.allocate(Pte.TABLE_SIZE));
            created.add(l2);
            s.level2.put(key, l2);
            Le.LONG.setRelease(l1.view, (long) i1 * 8, Pte.table(l2.buffer.deviceAddress()));
            l1.live++;
        }
        return l2;
    }

    /** Clears the first {@code bytes} of descriptors from {@code va}; {@return the tables that became empty} */
    private List<Table> clear(State s, long va, long bytes) {
        List<Table> emptied = new ArrayList<>();
        for (long off = 0; off < bytes; off += Pte.PAGE_SIZE) {
            long a = va + off;
            int i0 = Pte.index(a, 0);
            int i1 = Pte.index(a, 1);
            int key = i0 << Pte.BITS_PER_LEVEL | i1;
            Table l2 = s.level2.get(key);
            Table l1 = s.level1.get(i0);
            if (l2 == null || l1 == null) {
                throw new IllegalStateException("UAT: no table maps GPU VA 0x" + Long.toHexString(a));
            }
            // Release: ordered after whatever the driver did with the page before unmapping it.
            Le.LONG.setRelease(l2.view, (long) Pte.index(a, 2) * 8, 0L);
            if (--l2.live == 0) {
                Le.LONG.setRelease(l1.view, (long) i1 * 8, 0L);
                s.level2.remove(key);
                emptied.add(l2);
                if (--l1.live == 0) {
                    Le.LONG.setRelease(root.view, (long) i0 * 8, 0L);
                    s.level1.remove(i0);
                    emptied.add(l1);
                    root.live--;
                }
            }
        }
        return emptied;
    }

    /**
     * Phase one of unmapping: clears the mapping's descriptors and unlinks tables that became empty. The caller
     * must then invalidate the firmware's TLB for the range and wait for it, and call {@link Unmapped#release()}.
     */
    public Unmapped unmap(Mapping m) {
        try (Guard<State> g = lock.lock()) {
            return new Unmapped(m, clear(g.get(), m.va(), m.size()));
        }
    }

    /** {@return the number of level-1 and level-2 tables allocated now} */
    public int tableCount() {
        return lock.with(s -> s.level1.size() + s.level2.size());
    }

    /** {@return the number of live VA ranges} */
    public int mappingCount() {
        return vas.liveAllocations();
    }

    /**
     * Frees every table. The firmware must be stopped. Mappings still present are dropped with it (their VA ranges
     * are forgotten).
     */
    @Override
    public void close() {
        try (Guard<State> g = lock.lock()) {
            State s = g.get();
            if (s.closed) {
                return;
            }
            s.closed = true;
            for (Table t : s.level2.values()) {
                t.buffer.close();
            }
            for (Table t : s.level1.values()) {
                t.buffer.close();
            }
            s.level2.clear();
            s.level1.clear();
            root.buffer.close();
        }
    }

    /** A mapping whose descriptors are cleared, waiting for the TLB invalidation before its resources go. */
    public final class Unmapped {
        private final Mapping mapping;
        private final List<Table> emptied;
        private boolean released;

        private Unmapped(Mapping mapping, List<Table> emptied) {
            this.mapping = mapping;
            this.emptied = emptied;
        }

        /** {@return the unmapped range} */
        public Mapping mapping() {
            return mapping;
        }

        /** Phase two: frees the emptied tables and returns the VA range. Call only after the TLB invalidation. */
        public void release() {
            if (released) {
                throw new IllegalStateException("GPU VA range 0x" + Long.toHexString(mapping.va()) + " released twice");
            }
            released = true;
            // The emptied tables left the table maps when they were unlinked, so close() does not free them.
            for (Table t : emptied) {
                t.buffer.close();
            }
            vas.free(mapping.va(), mapping.size() + Pte.PAGE_SIZE);
        }
    }
}
