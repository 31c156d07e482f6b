package dev.ferrum.bench;

import dev.ferrum.bench.internal.Backoff;
import dev.ferrum.bench.internal.NullDevice;
import dev.ferrum.bench.internal.RawQueue;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.nvme.IoCallback;
import dev.ferrum.nvme.internal.NvmeRegs;
import dev.ferrum.nvme.internal.Queue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The memory and device of one NVMe queue-level benchmark: an 8 KiB register window (doorbells at 0x1000, stride
 * 4), rings and a 4 KiB data buffer from a {@link DmaPool} over the identity address space, a {@link NullDevice},
 * and either the driver's safe queue ({@link SafeQueuePath} over {@link Queue}) or the raw one ({@link RawQueue})
 * on the same kind of memory. Each I/O is a 4 KiB Read (8 blocks of 512 bytes) into the one data buffer, at
 * advancing LBAs.
 *
 * <p>Invariants: exactly one of {@link #safe} and {@link #raw} is non-null; the device sees the driver's memory
 * only while the rig is open.
 */
final class NvmeRig implements IoRig {
    static final int ENTRIES = 256;
    static final int QID = 1;
    static final int BLOCK_SIZE = 512;
    static final int BLOCKS = 8;

    /** Which driver code a rig runs. */
    enum Driver {
        /** The driver's queue code with the data buffer registered (pinned once): {@code IoQueuePair}'s fast path. */
        SAFE,
        /** The same with an unregistered buffer: a pin and an unpin per command (diagnostic). */
        SAFE_PIN_PER_IO,
        /** {@link RawQueue}. */
        RAW
    }

    /** Counts completions: the benchmarks' allocation-free callback. */
    static final class Counter implements IoCallback {
        long completed;
        int lastStatus;

        @Override
        public void complete(long tag, int status) {
            completed++;
            lastStatus = status;
        }
    }

    final Counter callback = new Counter();
    /** How the benchmark thread waits for completions (threaded device). */
    final Backoff backoff = new Backoff();
    final SafeQueuePath safe;
    final RawQueue raw;
    final NullDevice device;
    final DmaBuffer data;
    final long dataAddress;
    private final Arena barArena = Arena.ofShared();
    private final DmaPool pool;
    private final long sqAddress;
    private final long cqAddress;
    private long lba;

    NvmeRig(Driver driver) {
        MemorySegment bar = barArena.allocate(0x2000, 4096);
        long sqDoorbell = NvmeRegs.sqTailDoorbell(QID, 0);
        long cqDoorbell = NvmeRegs.cqHeadDoorbell(QID, 0);
        pool = DmaPool.builder(DeviceAddressSpace.identity()).name("bench nvme")
                .memoryLock(DmaPool.MemoryLock.BEST_EFFORT).build();
        data = pool.allocate(4096);
        dataAddress = data.deviceAddress();
        long sq;
        long cq;
        if (driver == Driver.RAW) {
            DmaBuffer sqb = pool.allocate(ENTRIES * 64L);
            DmaBuffer cqb = pool.allocate(ENTRIES * 16L);
            DmaBuffer prp = pool.allocate((ENTRIES - 1) * 4096L);
            sq = sqb.deviceAddress();
            cq = cqb.deviceAddress();
            raw = new RawQueue(QID, ENTRIES, sq, cq, prp.deviceAddress(), prp.deviceAddress(),
                    bar.address() + sqDoorbell, bar.address() + cqDoorbell);
            safe = null;
        } else {
            Queue queue = new Queue(QID, ENTRIES, pool, Mmio.of(bar, "bench BAR0"), 0);
            safe = new SafeQueuePath(queue, pool.allocate((ENTRIES - 1) * 4096L));
            if (driver == Driver.SAFE) {
                data.register(safe);
            }
            sq = queue.sqAddress();
            cq = queue.cqAddress();
            raw = null;
        }
        sqAddress = sq;
        cqAddress = cq;
        device = new NullDevice(sq, cq, bar.address() + sqDoorbell, bar.address() + cqDoorbell, ENTRIES, QID);
    }

    /** {@return the address of the submission ring} */
    long sqAddress() {
        return sqAddress;
    }

    /** {@return the address of the completion ring} */
    long cqAddress() {
        return cqAddress;
    }

    @Override
    public void submit() {
        long l = lba;
        lba = (l + BLOCKS) & 0xf_ffff;
        if (safe != null) {
            safe.read(l, BLOCKS, BLOCK_SIZE, data, callback, l);
        } else {
            raw.read(l, BLOCKS, BLOCK_SIZE, dataAddress, callback, l);
        }
    }

    @Override
    public void step() {
        device.step();
    }

    @Override
    public Backoff backoff() {
        return backoff;
    }

    @Override
    public int complete(int max) {
        return safe != null ? safe.processCompletions(max) : raw.processCompletions(max);
    }

    int outstanding() {
        return safe != null ? safe.outstanding() : raw.outstanding();
    }

    /** With the device on its own thread: completes everything outstanding (bounded wait). */
    void drain() {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (outstanding() > 0) {
            if (complete(Integer.MAX_VALUE) == 0) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(outstanding() + " commands did not complete in 10 s");
                }
                Thread.onSpinWait();
            }
        }
    }

    @Override
    public void close() {
        device.stopThread();
        if (safe != null && data.isRegisteredTo(safe)) {
            data.unregister(safe);
        }
        pool.close();
        barArena.close();
    }
}
