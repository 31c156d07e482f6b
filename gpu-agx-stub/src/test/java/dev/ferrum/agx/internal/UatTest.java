package dev.ferrum.agx.internal;

import dev.ferrum.agx.internal.fw.Pte;
import dev.ferrum.memory.DmaBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The GPU page tables: exact descriptors, guard pages, two-phase unmapping, table reclamation. */
class UatTest {
    private static final long BASE = 1L << 32;

    /** Walks the table like the firmware does; {@return the leaf descriptor, or 0 if a level is missing} */
    private static long walk(MockMemory mem, long ttbr, long va) {
        long table = ttbr;
        for (int level = 0; level < Pte.LEVELS; level++) {
            long e = mem.u64(table + 8L * Pte.index(va, level));
            if (level == Pte.LEVELS - 1 || !Pte.isValid(e)) {
                return e;
            }
            table = e & Pte.ADDRESS_MASK;
        }
        throw new AssertionError();
    }

    @Test
    void mappingWritesOneDescriptorPerPageAndLeavesAGuardPage() {
        try (MockMemory mem = new MockMemory(); Uat uat = new Uat(mem.pool, BASE, Pte.VA_LIMIT)) {
            DmaBuffer a = mem.pool.allocate(3 * 4096);
            DmaBuffer b = mem.pool.allocate(4096);
            Uat.Mapping ma = uat.map(a, false);
            Uat.Mapping mb = uat.map(b, true);
            assertEquals(BASE, ma.va());
            assertEquals(BASE + 4 * 4096, mb.va(), "three pages, then one guard page");
            for (int p = 0; p < 3; p++) {
                assertEquals(a.deviceAddress() + 4096L * p | Pte.VALID | Pte.TYPE,
                        walk(mem, uat.ttbr(), BASE + 4096L * p));
            }
            assertEquals(0, walk(mem, uat.ttbr(), BASE + 3 * 4096), "the guard page is not mapped");
            assertEquals(b.deviceAddress() | Pte.VALID | Pte.TYPE | Pte.READ_ONLY, walk(mem, uat.ttbr(), mb.va()));
            assertEquals(0, walk(mem, uat.ttbr(), 0), "nothing at address 0");
            assertEquals(2, uat.tableCount(), "one level-1 and one level-2 table");
            uat.unmap(ma).release();
            uat.unmap(mb).release();
            a.close();
            b.close();
        }
    }

    @Test
    void unmappingClearsAtOnceButFreesTablesAndAddressesOnlyOnRelease() {
        try (MockMemory mem = new MockMemory(); Uat uat = new Uat(mem.pool, BASE, Pte.VA_LIMIT)) {
            // A mapping ending just below a 2 MiB boundary pushes the next across it: two level-2 tables.
            DmaBuffer big = mem.pool.allocate((2 << 20) - 2 * 4096);
            DmaBuffer small = mem.pool.allocate(2 * 4096);
            Uat.Mapping mBig = uat.map(big, false);
            Uat.Mapping m = uat.map(small, false);
            assertEquals(BASE + (2 << 20) - 4096, m.va());
            assertEquals(3, uat.tableCount());
            int buffers = mem.pool.liveBuffers();

            Uat.Unmapped u = uat.unmap(m);
            assertEquals(0, walk(mem, uat.ttbr(), m.va()), "cleared at once");
            assertEquals(0, walk(mem, uat.ttbr(), m.va() + 4096), "cleared at once");
            assertEquals(big.deviceAddress() | Pte.VALID | Pte.TYPE, walk(mem, uat.ttbr(), mBig.va()));
            assertEquals(2, uat.tableCount(), "the second level-2 table is unlinked");
            assertEquals(buffers, mem.pool.liveBuffers(), "but not freed before the TLB invalidation");
            assertEquals(2, uat.mappingCount(), "nor is the VA range reusable");
            u.release();
            assertEquals(buffers - 1, mem.pool.liveBuffers());
            assertEquals(1, uat.mappingCount());
            assertThrows(IllegalStateException.class, u::release);
            assertEquals(m.va(), uat.map(small, true).va(), "the range is handed out again");

            uat.unmap(mBig).release();
            assertEquals(1, uat.mappingCount());
            small.close();
            big.close();
        }
    }

    @Test
    void theVaWindowIsChecked() {
        try (MockMemory mem = new MockMemory()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Uat(mem.pool, 0, Pte.VA_LIMIT));
            assertEquals(true, e.getMessage().contains("39-bit"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new Uat(mem.pool, BASE, Pte.VA_LIMIT + 4096));
        }
    }
}
