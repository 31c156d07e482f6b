package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;
import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Shared pieces of the VFIO tests that run in the test VM (native/vm): the device under test from the environment,
 * a driver that captures the bound {@link PciDevice}, NVMe register offsets, and the guest's kernel log.
 */
final class VfioVm {
    /** QEMU's NVMe controller. */
    static final int QEMU_VENDOR = 0x1b36;
    static final int QEMU_NVME = 0x0010;
    static final int WAIT_SECONDS = 30;

    // NVMe controller registers (NVMe 1.4, section 3.1).
    static final long CAP = 0x00L;
    static final long VS = 0x08L;
    static final long CC = 0x14L;
    static final long CSTS = 0x1cL;
    static final long AQA = 0x24L;
    static final long ASQ = 0x28L;
    static final long ACQ = 0x30L;
    static final long SQ0TDBL = 0x1000L;
    static final long CQ0HDBL = 0x1004L;

    static final int QUEUE_ENTRIES = 16;
    static final byte IDENTIFY = 0x06;
    static final int CNS_CONTROLLER = 1;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private VfioVm() {}

    /** The admin queue pair, driven by hand. */
    static final class AdminQueue {
        final Mmio regs;
        final DmaBuffer sq;
        final DmaBuffer cq;
        final InterruptVector vector;
        int tail;
        int head;
        int phase = 1;
        int cid;

        AdminQueue(PciDevice dev) {
            dev.enableMemory();
            dev.setBusMaster(true);
            regs = dev.bar(0).get().mmio();
            DmaPool pool = dev.dmaPool();
            sq = pool.allocate(4096);
            cq = pool.allocate(4096);
            disable(regs);
            vector = dev.enableMsix(1).getFirst(); // the admin completion queue interrupts on vector 0
            regs.write32(AQA, ((QUEUE_ENTRIES - 1) << 16) | (QUEUE_ENTRIES - 1));
            regs.write64(ASQ, sq.deviceAddress());
            regs.write64(ACQ, cq.deviceAddress());
            // EN, NVM command set, 4 KiB pages, 64-byte SQ entries (2^6), 16-byte CQ entries (2^4).
            regs.write32(CC, 1 | (6 << 16) | (4 << 20));
            await(() -> (regs.read32(CSTS) & 1) == 1, "CSTS.RDY sets after CC.EN=1");
            assertEquals(0, regs.read32(CSTS) & 2, "CSTS.CFS: no controller fatal status");
        }

        /** Submits Identify with PRP1 = {@code prp1}; {@return the completion's status field} */
        int identify(long prp1) throws InterruptedException {
            int id = ++cid;
            MemorySegment sqe = sq.segment().asSlice(64L * tail, 64);
            sqe.fill((byte) 0);
            sqe.set(ValueLayout.JAVA_INT, 0, IDENTIFY | (id << 16));
            sqe.set(ValueLayout.JAVA_LONG, 24, prp1);
            sqe.set(ValueLayout.JAVA_INT, 40, CNS_CONTROLLER);
            tail = (tail + 1) % QUEUE_ENTRIES;
            regs.write32(SQ0TDBL, tail); // release write: the entry is visible before the doorbell

            long got = vector.await(Duration.ofSeconds(WAIT_SECONDS));
            assertTrue(got >= 1, "MSI-X vector 0 delivered the admin completion within " + WAIT_SECONDS + " s");
            MemorySegment cqe = cq.segment().asSlice(16L * head, 16);
            int dw3 = (int) INT.getAcquire(cqe, 12L); // acquire: the entry's data after its phase bit
            assertEquals(phase, (dw3 >>> 16) & 1, "the completion entry's phase bit is new");
            assertEquals(id, dw3 & 0xffff, "completion for our command id");
            assertEquals(0, cqe.get(ValueLayout.JAVA_INT, 8) >>> 16, "completion for SQ 0");
            head = (head + 1) % QUEUE_ENTRIES;
            if (head == 0) {
                phase ^= 1;
            }
            regs.write32(CQ0HDBL, head);
            return dw3 >>> 17;
        }
    }


    static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isBlank()) {
            fail(name + " is not set: VFIO tests must run inside the Ferrum test VM (./ferrum vm-test)");
        }
        return v;
    }

    /** {@return the function bound to vfio-pci in the VM} */
    static PciAddress bdf() {
        return PciAddress.parse(env("FERRUM_VFIO_BDF"));
    }

    static int group() {
        return Integer.parseInt(env("FERRUM_VFIO_GROUP"));
    }

    /** {@return the second NVMe function the VM binds to vfio-pci, for tests of several devices} */
    static PciAddress bdf2() {
        return PciAddress.parse(env("FERRUM_VFIO_BDF2"));
    }

    static int group2() {
        return Integer.parseInt(env("FERRUM_VFIO_GROUP2"));
    }

    /** A driver for QEMU's NVMe controller that only records the device; its remove stops the controller. */
    static final class CapturingDriver implements PciDriver {
        PciDevice device;

        @Override
        public String name() {
            return "vfio-test";
        }

        @Override
        public List<DeviceId> idTable() {
            return List.of(DeviceId.of(QEMU_VENDOR, QEMU_NVME));
        }

        @Override
        public void probe(PciDevice device, DeviceId id) {
            this.device = device;
        }

        @Override
        public void remove(PciDevice device) {
            // Stop the controller before the bus frees the DMA buffers it may still be using.
            device.bar(0).tryAccess().ifPresent(a -> {
                try (a) {
                    disable(a.get().mmio());
                }
            });
        }
    }

    /** The VM's device opened through VFIO with a {@link CapturingDriver} bound; closing closes the bus. */
    record Session(VfioBackend backend, PciBus bus, PciDevice device) implements AutoCloseable {
        @Override
        public void close() {
            bus.close();
        }
    }

    /** {@return a new session on the VM's device} */
    static Session open() {
        VfioBackend backend = VfioBackend.open(bdf());
        PciBus bus = PciBus.open(backend);
        try {
            CapturingDriver driver = new CapturingDriver();
            assertEquals(1, bus.register(driver).size(), "the test driver binds QEMU's NVMe controller");
            return new Session(backend, bus, driver.device);
        } catch (RuntimeException | Error e) {
            bus.close();
            throw e;
        }
    }

    /** Clears CC.EN and waits for CSTS.RDY to clear. */
    static void disable(Mmio regs) {
        regs.write32(CC, 0);
        await(() -> (regs.read32(CSTS) & 1) == 0, "CSTS.RDY clears after CC.EN=0");
    }

    /** Waits (bounded) for a condition the device makes true. */
    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out after " + WAIT_SECONDS + " s waiting until " + what);
            }
            Thread.onSpinWait();
        }
    }

    /** {@return the guest kernel's log, as {@code dmesg} prints it} */
    static List<String> dmesg() throws IOException, InterruptedException {
        Path out = Files.createTempFile("ferrum-dmesg", ".txt");
        try {
            Process p = new ProcessBuilder("dmesg").redirectErrorStream(true).redirectOutput(out.toFile()).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "dmesg finished within 60 s");
            assertEquals(0, p.exitValue(), "dmesg exit status");
            return Files.readAllLines(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
