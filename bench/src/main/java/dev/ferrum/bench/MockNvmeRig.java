package dev.ferrum.bench;

import dev.ferrum.bench.internal.Backoff;
import dev.ferrum.bench.internal.RawMockHost;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoQueuePair;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeOptions;
import dev.ferrum.nvme.QueuePairOptions;
import dev.ferrum.nvme.mock.MockNvmeController;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The whole NVMe driver on the mock controller in null mode (completes every command at once, moves no data): an
 * {@link NvmeController} attached through a {@link PciBus} over a {@link MockPciBus}, one owner-thread polling
 * {@link IoQueuePair} of 256 entries, a 4 KiB DMA buffer (registered with the pair unless a diagnostic asks
 * otherwise), and 4 KiB Reads (8 blocks of 512 bytes) at advancing LBAs
 * through the allocation-free callback API: what an application of the driver does.
 *
 * <p>Stepped mode: the controller runs only when {@link #step()} is called. Bring-up and queue creation need the
 * controller to answer admin commands while the creating thread waits, so during them a helper thread steps it;
 * afterwards only the benchmark thread does. Threaded mode: the controller runs on its own thread, spinning when
 * idle (no parking), as hardware runs beside the CPU.
 *
 * <p>The raw variant runs {@link RawMockHost} ({@code RawQueue}, the same queue code on raw addresses, set up by
 * a minimal host instead of the driver) on an identical controller, so the device does the same work.
 *
 * <p>Invariants: the queue pair belongs to the thread that constructed the rig; {@link #close()} completes or fails
 * whatever is outstanding and releases all memory.
 */
final class MockNvmeRig implements IoRig {
    static final PciAddress ADDRESS = PciAddress.parse("0000:01:00.0");
    static final int BLOCK_SIZE = 512;
    static final int BLOCKS = 8;

    final MockNvmeController mock;
    final IoQueuePair qp;
    final Namespace ns;
    final DmaBuffer buffer;
    final NvmeRig.Counter callback = new NvmeRig.Counter();
    /** How the benchmark thread waits for completions (threaded device). */
    final Backoff backoff = new Backoff();
    /** The raw-pointer host instead of the driver, or null. */
    final RawMockHost raw;
    private final boolean stepped;
    private final MockPciBus mockBus;
    private final PciBus bus;
    private final NvmeController ctrl;
    private long lba;

    /**
     * @param stepped    stepped (on the caller's thread) or threaded controller
     * @param rawDriver  {@link RawMockHost} ({@code RawQueue}) on the same controller instead of the driver
     * @param register   whether the driver's data buffer is registered with the queue pair (pinned once, the fast
     *                   path an application uses) or pinned per command
     */
    MockNvmeRig(boolean stepped, boolean rawDriver, boolean register) {
        this.stepped = stepped;
        this.mock = new MockNvmeController(MockNvmeController.Config.builder()
                .namespace(1L << 21, BLOCK_SIZE).nullMode(true).build());
        if (!stepped) {
            mock.idleParkNanos(0);
        }
        if (rawDriver) {
            this.raw = new RawMockHost(mock, ADDRESS, stepped);
            this.mockBus = null;
            this.bus = null;
            this.ctrl = null;
            this.qp = null;
            this.ns = null;
            this.buffer = null;
            return;
        }
        this.raw = null;
        this.mockBus = new MockPciBus().add(ADDRESS, mock, stepped ? MockPciBus.Mode.STEPPED
                : MockPciBus.Mode.THREADED);
        this.bus = PciBus.open(mockBus);
        NvmeController[] c = new NvmeController[1];
        IoQueuePair[] q = new IoQueuePair[1];
        whileStepping(() -> {
            c[0] = NvmeController.attach(bus, ADDRESS, NvmeOptions.builder().interrupts(false).build());
            q[0] = c[0].createQueuePair(QueuePairOptions.builder().depth(256)
                    .threading(QueuePairOptions.Threading.OWNER_THREAD)
                    .completion(QueuePairOptions.Completion.POLLING).build());
        });
        this.ctrl = c[0];
        this.qp = q[0];
        this.ns = ctrl.namespace(1);
        this.buffer = ctrl.dmaPool().allocate(4096);
        if (register) {
            qp.registerBuffer(buffer);
        }
    }

    /**
     * Runs {@code action} on this thread; in stepped mode a helper thread steps the controller meanwhile (the
     * action waits for admin commands).
     */
    private void whileStepping(Runnable action) {
        if (!stepped) {
            action.run();
            return;
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread stepper = Thread.ofPlatform().daemon().name("bench-mock-stepper").start(() -> {
            while (!stop.get()) {
                if (!mock.step()) {
                    Thread.onSpinWait();
                }
            }
        });
        try {
            action.run();
        } finally {
            stop.set(true);
            try {
                stepper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while stopping the stepper", e);
            }
        }
    }

    /** One pass of the controller (stepped mode). */
    @Override
    public void step() {
        mock.step();
    }

    @Override
    public Backoff backoff() {
        return backoff;
    }

    @Override
    public void submit() {
        long l = lba;
        lba = (l + BLOCKS) & 0xf_ffff;
        if (raw == null) {
            qp.read(ns, l, BLOCKS, buffer, callback, l);
        } else {
            raw.read(l, BLOCKS, BLOCK_SIZE, callback, l);
        }
    }

    @Override
    public int complete(int max) {
        return raw == null ? qp.processCompletions(max) : raw.complete(max);
    }

    @Override
    public void close() {
        if (raw != null) {
            raw.close();
            return;
        }
        whileStepping(() -> {
            qp.close();
            ctrl.close();
        });
        bus.close();
        mockBus.close();
    }
}
