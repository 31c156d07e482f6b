package dev.ferrum.nvme.mock;

import dev.ferrum.driver.mock.MockIommu;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.nvme.NvmeStatus;
import dev.ferrum.nvme.internal.NvmeRegs;
import dev.ferrum.sys.nvme.nvme_sqe;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;

/**
 * A test-only host for {@link MockNvmeController}: what a driver does at the register level, without being one.
 * It binds a do-nothing PCI driver (so the bus releases the DMA memory at the end), programs the registers, builds
 * queues in DMA buffers, writes submission entries, rings doorbells and reads completion entries with their phase
 * tags. In stepped mode it steps the controller while it waits.
 */
final class NvmeTestHost implements AutoCloseable {
    static final PciAddress ADDRESS = PciAddress.parse("0000:01:00.0");
    static final Duration WAIT = Duration.ofSeconds(10);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** CC for enabling: EN, IOSQES = 6, IOCQES = 4, MPS = 0, CSS = 0. */
    static final int CC_ENABLE = 1 | 6 << 16 | 4 << 20;

    final MockNvmeController ctrl;
    final MockPciBus mock;
    final PciBus bus;
    final PciDevice device;
    final Mmio regs;
    final DmaPool pool;
    final boolean stepped;
    final int dstrd;
    Queue admin;

    /** A PCI driver that only keeps the device: resources obtained through it are released at unbind. */
    static final class Holder implements PciDriver {
        @Override
        public String name() {
            return "nvme-test-host";
        }

        @Override
        public List<DeviceId> idTable() {
            return List.of(DeviceId.of(MockNvmeController.VENDOR_ID, MockNvmeController.DEVICE_ID));
        }

        @Override
        public void probe(PciDevice device, DeviceId id) {
            device.enableMemory();
            device.setBusMaster(true);
        }

        @Override
        public void remove(PciDevice device) {
        }
    }

    NvmeTestHost(MockNvmeController ctrl, MockPciBus.Mode mode) {
        this.ctrl = ctrl;
        this.mock = new MockPciBus().add(ADDRESS, ctrl, mode);
        this.bus = PciBus.open(mock);
        this.device = bus.device(ADDRESS).orElseThrow();
        bus.bind(new Holder(), device);
        this.regs = device.bar(0).get().mmio();
        this.pool = device.dmaPool();
        this.stepped = mode == MockPciBus.Mode.STEPPED;
        this.dstrd = (int) NvmeRegs.CAP_DSTRD.get(regs.read64(0));
    }

    static NvmeTestHost stepped(MockNvmeController.Config config) {
        return new NvmeTestHost(new MockNvmeController(config), MockPciBus.Mode.STEPPED);
    }

    /** A stepped host with the controller enabled (admin queues of {@code 16} entries). */
    static NvmeTestHost enabled(MockNvmeController.Config config) {
        NvmeTestHost h = stepped(config);
        h.enable(16);
        return h;
    }

    @Override
    public void close() {
        bus.close();
    }

    MockIommu iommu() {
        return mock.iommu(ADDRESS);
    }

    /** Steps the controller until it is idle (stepped mode); does nothing when it runs on its thread. */
    void step() {
        if (stepped) {
            ctrl.stepUntilIdle(100_000);
        }
    }

    int csts() {
        return regs.read32(NvmeRegs.CSTS.offset());
    }

    /** Waits (stepping if needed) until {@code (CSTS & mask) == value}; {@return whether it happened in time} */
    boolean awaitCsts(int mask, int value) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while ((csts() & mask) != value) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            if (stepped) {
                ctrl.step();
            } else {
                Thread.onSpinWait();
            }
        }
        return true;
    }

    /** Programs the admin queues and CC, and waits for CSTS.RDY. */
    void enable(int adminEntries) {
        DmaBuffer asq = pool.allocate(64L * adminEntries);
        DmaBuffer acq = pool.allocate(16L * adminEntries);
        regs.write32(NvmeRegs.AQA.offset(), (adminEntries - 1) | (adminEntries - 1) << 16);
        regs.write64(NvmeRegs.ASQ.offset(), asq.deviceAddress());
        regs.write64(NvmeRegs.ACQ.offset(), acq.deviceAddress());
        regs.write32(NvmeRegs.CC.offset(), CC_ENABLE);
        if (!awaitCsts(3, 1)) {
            throw new AssertionError("controller did not become ready: CSTS=0x" + Integer.toHexString(csts())
                    + ", fatal reason " + ctrl.fatalReason());
        }
        admin = new Queue(0, adminEntries, asq, acq);
    }

    /** Clears CC.EN and waits for CSTS.RDY = 0. */
    void disable() {
        regs.write32(NvmeRegs.CC.offset(), 0);
        if (!awaitCsts(1, 0)) {
            throw new AssertionError("controller did not reset");
        }
        admin = null;
    }

    long sqDoorbell(int qid) {
        return NvmeRegs.sqTailDoorbell(qid, dstrd);
    }

    long cqDoorbell(int qid) {
        return NvmeRegs.cqHeadDoorbell(qid, dstrd);
    }

    /** Creates I/O CQ and SQ {@code qid} with {@code entries} entries; {@code vector < 0}: no interrupts. */
    Queue createIoQueues(int qid, int entries, int vector) {
        DmaBuffer cq = pool.allocate(16L * entries);
        DmaBuffer sq = pool.allocate(64L * entries);
        Cqe c = admin.run(Sqe.of(0x05).prp1(cq.deviceAddress()).cdw10(qid | (entries - 1) << 16)
                .cdw11(1 | (vector >= 0 ? 2 | vector << 16 : 0)));
        c.assertOk("Create I/O CQ " + qid);
        c = admin.run(Sqe.of(0x01).prp1(sq.deviceAddress()).cdw10(qid | (entries - 1) << 16).cdw11(1 | qid << 16));
        c.assertOk("Create I/O SQ " + qid);
        return new Queue(qid, entries, sq, cq);
    }

    /** {@return an enabled MSI-X vector list} */
    List<InterruptVector> enableMsix(int count) {
        return device.enableMsix(count);
    }

    /** A submission entry to build. */
    static final class Sqe {
        int opcode;
        int flags;
        int cid = -1;
        int nsid;
        long prp1;
        long prp2;
        final int[] cdw = new int[16];

        static Sqe of(int opcode) {
            Sqe s = new Sqe();
            s.opcode = opcode;
            return s;
        }

        /** Read (0x02) or Write (0x01) of {@code blocks} blocks at {@code slba}. */
        static Sqe rw(int opcode, int nsid, long slba, int blocks, long prp1, long prp2) {
            return of(opcode).nsid(nsid).prp1(prp1).prp2(prp2).cdw10((int) slba).cdw11((int) (slba >>> 32))
                    .cdw12(blocks - 1);
        }

        Sqe flags(int v) {
            flags = v;
            return this;
        }

        Sqe cid(int v) {
            cid = v;
            return this;
        }

        Sqe nsid(int v) {
            nsid = v;
            return this;
        }

        Sqe prp1(long v) {
            prp1 = v;
            return this;
        }

        Sqe prp2(long v) {
            prp2 = v;
            return this;
        }

        Sqe cdw10(int v) {
            cdw[10] = v;
            return this;
        }

        Sqe cdw11(int v) {
            cdw[11] = v;
            return this;
        }

        Sqe cdw12(int v) {
            cdw[12] = v;
            return this;
        }

        Sqe cdw13(int v) {
            cdw[13] = v;
            return this;
        }

        void writeTo(MemorySegment s, int commandId) {
            s.fill((byte) 0);
            s.set(ValueLayout.JAVA_BYTE, nvme_sqe.opc$offset(), (byte) opcode);
            s.set(ValueLayout.JAVA_BYTE, nvme_sqe.flags$offset(), (byte) flags);
            s.set(LE_SHORT, nvme_sqe.cid$offset(), (short) commandId);
            s.set(LE_INT, nvme_sqe.nsid$offset(), nsid);
            s.set(LE_LONG, nvme_sqe.prp1$offset(), prp1);
            s.set(LE_LONG, nvme_sqe.prp2$offset(), prp2);
            for (int i = 10; i <= 15; i++) {
                s.set(LE_INT, nvme_sqe.cdw10$offset() + 4L * (i - 10), cdw[i]);
            }
        }
    }

    /** A completion entry as the host read it (phase tag already checked). */
    record Cqe(int dw0, int sqHead, int sqId, int cid, int status) {
        int sct() {
            return NvmeRegs.statusCodeType(status);
        }

        int sc() {
            return NvmeRegs.statusCode(status);
        }

        boolean dnr() {
            return NvmeRegs.doNotRetry(status);
        }

        NvmeStatus nvmeStatus() {
            return NvmeStatus.of(sct(), sc());
        }

        Cqe assertOk(String what) {
            if (nvmeStatus() != NvmeStatus.SUCCESS) {
                throw new AssertionError(what + " failed: " + nvmeStatus() + " " + this);
            }
            return this;
        }
    }

    /** A queue pair as the host sees it. */
    final class Queue {
        final int qid;
        final int entries;
        final int cqEntries;
        final DmaBuffer sq;
        final DmaBuffer cq;
        int sqTail;
        int cqHead;
        int phase = 1;
        int nextCid;

        Queue(int qid, int entries, DmaBuffer sq, DmaBuffer cq) {
            this(qid, entries, entries, sq, cq);
        }

        Queue(int qid, int entries, int cqEntries, DmaBuffer sq, DmaBuffer cq) {
            this.qid = qid;
            this.entries = entries;
            this.cqEntries = cqEntries;
            this.sq = sq;
            this.cq = cq;
        }

        /** Writes the entry at the tail without ringing; {@return its command ID} */
        int write(Sqe e) {
            int cid = e.cid >= 0 ? e.cid : nextCid++ & 0xffff;
            e.writeTo(sq.segment().asSlice(64L * sqTail, 64), cid);
            sqTail = (sqTail + 1) % entries;
            return cid;
        }

        /** Writes the SQ tail doorbell. */
        void ring() {
            regs.write32(sqDoorbell(qid), sqTail);
        }

        int submit(Sqe e) {
            int cid = write(e);
            ring();
            return cid;
        }

        /** {@return the entry at the CQ head if its phase tag says it is new (consuming it), else null} */
        Cqe poll() {
            MemorySegment s = cq.segment();
            long off = 16L * cqHead;
            int dw3 = (int) NvmeTestHost.INT_ACQUIRE.getAcquire(s, off + 12);
            if (((dw3 >>> 16) & 1) != phase) {
                return null;
            }
            int dw2 = s.get(LE_INT, off + 8);
            Cqe c = new Cqe(s.get(LE_INT, off), dw2 & 0xffff, dw2 >>> 16, dw3 & 0xffff, (dw3 >>> 16) & 0xfffe);
            cqHead = (cqHead + 1) % cqEntries;
            if (cqHead == 0) {
                phase ^= 1;
            }
            return c;
        }

        /** Writes the CQ head doorbell (releases consumed entries). */
        void release() {
            regs.write32(cqDoorbell(qid), cqHead);
        }

        /** Waits (stepping) for the next completion; consumes and releases it. */
        Cqe await() {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                Cqe c = poll();
                if (c != null) {
                    release();
                    return c;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("no completion on queue " + qid + " within " + WAIT + "; CSTS=0x"
                            + Integer.toHexString(csts()) + ", held " + ctrl.heldCommands());
                }
                if (stepped) {
                    ctrl.step();
                } else {
                    Thread.onSpinWait();
                }
            }
        }

        /** Submits and waits for the completion. */
        Cqe run(Sqe e) {
            int cid = submit(e);
            Cqe c = await();
            if (c.cid() != cid) {
                throw new AssertionError("expected the completion of CID " + cid + ", got " + c);
            }
            return c;
        }

        /** Steps until idle and asserts that no completion is new. */
        void assertNoCompletion() {
            step();
            MemorySegment s = cq.segment();
            int dw3 = s.get(LE_INT, 16L * cqHead + 12);
            if (((dw3 >>> 16) & 1) == phase) {
                throw new AssertionError("unexpected completion on queue " + qid + ": CID " + (dw3 & 0xffff));
            }
        }
    }

    static final java.lang.invoke.VarHandle INT_ACQUIRE =
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    /** {@return a DMA buffer of {@code bytes} filled with a pattern derived from {@code seed}} */
    DmaBuffer patterned(long bytes, int seed) {
        DmaBuffer b = pool.allocate(bytes);
        fillPattern(b.segment().asSlice(0, bytes), seed);
        return b;
    }

    static void fillPattern(MemorySegment s, int seed) {
        for (long i = 0; i < s.byteSize(); i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (seed * 31 + i * 7 + (i >>> 9)));
        }
    }

    static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }
}
