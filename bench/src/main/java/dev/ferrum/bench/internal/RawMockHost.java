package dev.ferrum.bench.internal;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.spi.PciFunction;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.nvme.IoCallback;
import dev.ferrum.nvme.mock.MockNvmeController;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The raw-pointer side of the full-driver NVMe benchmark: {@link RawQueue} on the same mock NVMe controller (null
 * mode) that the safe driver runs on, so that the device's work is identical and the difference is driver cost.
 *
 * <p>Set-up talks to the controller directly, as a minimal host would (not measured): it enables PCI bus mastering
 * in config space, maps BAR0, programs the admin queue and CC.EN, waits for CSTS.RDY, and creates I/O completion
 * and submission queue 1 (256 entries, physically contiguous, no interrupts) with two admin commands. DMA memory
 * comes from a {@link DmaPool} over the function's mock IOMMU, as the driver's does; the rings and buffers are
 * addressed by the CPU at their virtual addresses and by the device at their IOVAs.
 *
 * <p>Stepped mode: the caller runs {@link #step()}; set-up steps by itself. Threaded mode: the controller spins on
 * its own thread.
 *
 * <p>Invariants: queue 1 exists on the controller from construction to {@link #close()}; at most 255 commands are
 * outstanding ({@link RawQueue}'s limit).
 */
public final class RawMockHost implements AutoCloseable {
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int ADMIN_ENTRIES = 16;
    private static final int ENTRIES = 256;
    private static final int QID = 1;
    private static final long TIMEOUT_NANOS = 10_000_000_000L;

    private final MockNvmeController mock;
    private final MockPciBus mockBus;
    private final boolean stepped;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment bar;
    private final DmaPool pool;
    private final DmaBuffer asq;
    private final DmaBuffer acq;
    private final int dstrd;
    private int adminTail;
    private int adminHead;
    private int adminPhase = 1;
    private final RawQueue queue;
    private final DmaBuffer data;

    public RawMockHost(MockNvmeController mock, PciAddress address, boolean stepped) {
        this.mock = mock;
        this.stepped = stepped;
        if (!stepped) {
            mock.idleParkNanos(0);
        }
        this.mockBus = new MockPciBus().add(address, mock, stepped ? MockPciBus.Mode.STEPPED
                : MockPciBus.Mode.THREADED);
        PciFunction f = mockBus.functions().getFirst();
        f.configWrite(0x04, 2, f.configRead(0x04, 2) | 0x6); // memory space and bus master enable
        this.bar = f.mapBar(0, arena);
        this.pool = DmaPool.builder(f.addressSpace()).name("bench raw host").memoryLock(f.dmaMemoryLock()).build();
        this.dstrd = (int) (bar.get(LE_LONG, 0) >>> 32) & 0xf;
        this.asq = pool.allocate(64L * ADMIN_ENTRIES);
        this.acq = pool.allocate(16L * ADMIN_ENTRIES);
        bar.set(LE_INT, 0x24, (ADMIN_ENTRIES - 1) | (ADMIN_ENTRIES - 1) << 16);   // AQA
        bar.set(LE_LONG, 0x28, asq.deviceAddress());                              // ASQ
        bar.set(LE_LONG, 0x30, acq.deviceAddress());                              // ACQ
        bar.set(LE_INT, 0x14, 1 | 6 << 16 | 4 << 20);                             // CC: EN, IOSQES 6, IOCQES 4
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while ((bar.get(LE_INT, 0x1c) & 3) != 1) {                                // CSTS.RDY, not CFS
            waitForDevice(deadline, "CSTS.RDY (CSTS=0x" + Integer.toHexString(bar.get(LE_INT, 0x1c)) + ")");
        }
        DmaBuffer sq = pool.allocate(64L * ENTRIES);
        DmaBuffer cq = pool.allocate(16L * ENTRIES);
        DmaBuffer prp = pool.allocate(4096L * (ENTRIES - 1));
        this.data = pool.allocate(4096);
        admin(0x05, cq.deviceAddress(), (ENTRIES - 1) << 16 | QID, 1);          // Create I/O CQ, contiguous
        admin(0x01, sq.deviceAddress(), (ENTRIES - 1) << 16 | QID, QID << 16 | 1); // Create I/O SQ on CQ 1
        long stride = 4L << dstrd;
        this.queue = new RawQueue(QID, ENTRIES, sq.segment().address(), cq.segment().address(),
                prp.segment().address(), prp.deviceAddress(), bar.address() + 0x1000 + 2 * QID * stride,
                bar.address() + 0x1000 + (2 * QID + 1) * stride);
    }

    private void waitForDevice(long deadline, String what) {
        if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException("mock NVMe controller did not reach " + what + " in 10 s");
        }
        if (stepped) {
            mock.step();
        } else {
            Thread.onSpinWait();
        }
    }

    /** Sends one admin command and waits for its completion; throws on an error status. */
    private void admin(int opcode, long prp1, int cdw10, int cdw11) {
        MemorySegment sq = asq.segment();
        long e = adminTail * 64L;
        sq.asSlice(e, 64).fill((byte) 0);
        sq.set(LE_INT, e, opcode | adminTail << 16);                 // CID = slot
        sq.set(LE_LONG, e + 24, prp1);
        sq.set(LE_INT, e + 40, cdw10);
        sq.set(LE_INT, e + 44, cdw11);
        adminTail = (adminTail + 1) % ADMIN_ENTRIES;
        bar.set(LE_INT, 0x1000, adminTail);                          // SQ 0 tail doorbell
        MemorySegment cq = acq.segment();
        long c = adminHead * 16L;
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while ((cq.get(LE_INT, c + 12) >>> 16 & 1) != adminPhase) {
            waitForDevice(deadline, "completion of admin opcode 0x" + Integer.toHexString(opcode));
        }
        int status = cq.get(LE_INT, c + 12) >>> 17;
        if (++adminHead == ADMIN_ENTRIES) {
            adminHead = 0;
            adminPhase ^= 1;
        }
        bar.set(LE_INT, 0x1000 + (4L << dstrd), adminHead);          // CQ 0 head doorbell
        if (status != 0) {
            throw new IllegalStateException("admin opcode 0x" + Integer.toHexString(opcode)
                    + " failed with status 0x" + Integer.toHexString(status));
        }
    }

    /** Submits a Read of {@code blocks} blocks of {@code blockSize} bytes at {@code lba} into the host's buffer. */
    public void read(long lba, int blocks, int blockSize, IoCallback callback, long tag) {
        queue.read(lba, blocks, blockSize, data.deviceAddress(), callback, tag);
    }

    /** {@return completions reaped and delivered} */
    public int complete(int max) {
        return queue.processCompletions(max);
    }

    /** {@return commands outstanding} */
    public int outstanding() {
        return queue.outstanding();
    }

    /** One pass of the controller (stepped mode). */
    public boolean step() {
        return mock.step();
    }

    /** Completes what is outstanding (bounded wait), disables the controller and frees everything. */
    @Override
    public void close() {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (queue.outstanding() > 0) {
            if (queue.processCompletions(Integer.MAX_VALUE) == 0) {
                waitForDevice(deadline, "completion of " + queue.outstanding() + " outstanding commands");
            }
        }
        bar.set(LE_INT, 0x14, 0);                                    // CC.EN = 0: the controller lets go
        deadline = System.nanoTime() + TIMEOUT_NANOS;
        while ((bar.get(LE_INT, 0x1c) & 1) != 0) {
            waitForDevice(deadline, "CSTS.RDY = 0");
        }
        pool.close();   // unmaps from the mock IOMMU: the controller is disabled and reaches none of it
        arena.close();  // revokes this host's BAR view
        mockBus.close();
    }
}
