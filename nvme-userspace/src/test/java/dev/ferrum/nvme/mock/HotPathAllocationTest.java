package dev.ferrum.nvme.mock;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.Mmio;
import dev.ferrum.nvme.mock.NvmeTestHost.Queue;
import dev.ferrum.nvme.mock.NvmeTestHost.Sqe;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The brief for benchmarks: stepped on one thread in null mode, the controller's command path (doorbell read,
 * fetch, decode, execute, post) allocates nothing. The host side here is allocation-free too (entries are written
 * once; completions are read in place), so the thread's allocation counter measures the controller.
 */
class HotPathAllocationTest {
    private static final int ENTRIES = 256;
    private static final int BATCH = 32;

    /**
     * {@return a reader of this thread's allocated bytes} Reached by reflection: test sources compile inside module
     * dev.ferrum.nvme, which does not read java.management; at run time the tests are on the class path.
     */
    private static java.util.function.LongSupplier allocationCounter() throws ReflectiveOperationException {
        Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean")
                .invoke(null);
        Method m = Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes");
        return () -> {
            try {
                return (long) m.invoke(bean);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
        };
    }

    @Test
    void nullModeCommandsDoNotAllocate() throws ReflectiveOperationException {
        java.util.function.LongSupplier allocatedBytes = allocationCounter();
        try (NvmeTestHost h = NvmeTestHost.enabled(MockNvmeController.Config.builder().namespace(1 << 20, 512)
                .nullMode(true).build())) {
            Queue q = h.createIoQueues(1, ENTRIES, -1);
            DmaBuffer data = h.pool.allocate(4096);
            for (int i = 0; i < ENTRIES; i++) {
                q.write(Sqe.rw(0x02, 1, i, 8, data.deviceAddress(), 0).cid(i));
            }
            Driver d = new Driver(h.ctrl, h.regs, q.cq.segment(), h.sqDoorbell(1), h.cqDoorbell(1));
            assertEquals(200_000, d.run(200_000), "warm-up");
            long before = allocatedBytes.getAsLong();
            int done = d.run(200_000);
            long allocated = allocatedBytes.getAsLong() - before;
            assertEquals(200_000, done);
            assertTrue(allocated < 200_000, allocated + " bytes allocated for 200000 commands: more than "
                    + "incidental (JIT/GC bookkeeping) allocation");
            System.out.printf("hot path: %d bytes allocated for %d commands%n", allocated, done);
        }
    }

    /** A minimal allocation-free host loop: ring BATCH entries, step, consume their completions. */
    private static final class Driver {
        private static final java.lang.invoke.VarHandle INT = NvmeTestHost.INT_ACQUIRE;
        private final MockNvmeController ctrl;
        private final Mmio regs;
        private final MemorySegment cq;
        private final long sqDoorbell;
        private final long cqDoorbell;
        private int tail;
        private int head;
        private int phase = 1;

        Driver(MockNvmeController ctrl, Mmio regs, MemorySegment cq, long sqDoorbell, long cqDoorbell) {
            this.ctrl = ctrl;
            this.regs = regs;
            this.cq = cq;
            this.sqDoorbell = sqDoorbell;
            this.cqDoorbell = cqDoorbell;
        }

        int run(int commands) {
            int completed = 0;
            while (completed < commands) {
                tail = (tail + BATCH) % ENTRIES;
                regs.write32(sqDoorbell, tail);
                ctrl.step();
                for (int i = 0; i < BATCH; i++) {
                    while ((((int) INT.getAcquire(cq, 16L * head + 12) >>> 16) & 1) != phase) {
                        ctrl.step();
                    }
                    head = head + 1 == ENTRIES ? 0 : head + 1;
                    if (head == 0) {
                        phase ^= 1;
                    }
                    completed++;
                }
                regs.write32(cqDoorbell, head);
            }
            return completed;
        }
    }
}
