package dev.ferrum.bench;

import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoCallback;
import dev.ferrum.nvme.internal.Queue;
import dev.ferrum.nvme.internal.Request;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The safe side of the NVMe queue-level benchmark: the driver's own queue code ({@link Queue}: CID allocation,
 * {@code Sqe} writes into a {@link DmaBuffer} segment, release-ordered doorbells through a checked {@code Mmio},
 * {@code Cqe} acquire reads with validation of what the device wrote) driven by the steps of
 * {@code IoQueuePair}'s owner-thread submission and completion path for a Read: free-slot check, pin of the data
 * buffer, PRP setup, command build, SQE write, doorbell; reap, unpin, callback. {@code RawQueue} in
 * {@code dev.ferrum.bench.internal} is the same sequence on raw addresses, minus the pin/unpin.
 *
 * <p>What it leaves out of {@code IoQueuePair} (measured separately once the mock NVMe controller is available):
 * the namespace, LBA range and buffer checks, the owner-thread and controller-generation checks, and the timeout
 * bookkeeping of {@code processCompletions}.
 *
 * <p>Invariants: owner-thread only (no lock); at most {@link Queue#capacity()} commands outstanding; every
 * submitted command's callback runs once.
 */
final class SafeQueuePath implements Queue.Sink {
    static final long PAGE = 4096;
    /** NVM command set Read. */
    static final int READ = 0x02;

    private final Queue q;
    private final DmaBuffer prpPages;
    private final MemorySegment prp;
    private final Object[] doneContext;
    private final long[] doneTag;
    private final int[] doneStatus;
    private int doneCount;

    /**
     * @param q        the queue (its rings in device-visible memory, its doorbells in a register window)
     * @param prpPages one 4 KiB PRP-list page per command slot
     */
    SafeQueuePath(Queue q, DmaBuffer prpPages) {
        this.q = q;
        this.prpPages = prpPages;
        this.prp = prpPages.segment();
        this.doneContext = new Object[q.capacity()];
        this.doneTag = new long[q.capacity()];
        this.doneStatus = new int[q.capacity()];
    }

    /** {@return commands submitted and not completed} */
    int outstanding() {
        return q.outstanding();
    }

    /** Submits a Read of {@code blocks} blocks of {@code blockSize} bytes at {@code lba} into {@code buffer}. */
    void read(long lba, int blocks, int blockSize, DmaBuffer buffer, IoCallback callback, long tag) {
        if (q.capacity() - q.outstanding() < 1) {
            throw new IllegalStateException("queue " + q.qid + " is full");
        }
        Request r = q.allocate();
        if (!buffer.isRegisteredTo(this)) {
            buffer.pin(); // a registered buffer is pinned once, for as long as it is registered
            r.pinned = buffer;
        }
        long len = (long) blocks * blockSize;
        long addr = buffer.deviceAddress();
        long prp1 = addr;
        long prp2 = 0;
        long first = PAGE - (addr & (PAGE - 1));
        if (len > first) {
            long next = addr + first;
            long rest = len - first;
            if (rest <= PAGE) {
                prp2 = next;
            } else {
                long list = r.cid * PAGE;
                long pages = (rest + PAGE - 1) / PAGE;
                for (long i = 0; i < pages; i++) {
                    prp.set(ValueLayout.JAVA_LONG_UNALIGNED, list + i * 8, next + i * PAGE);
                }
                prp2 = prpPages.deviceAddress() + list;
            }
        }
        r.command(READ, 1, prp1, prp2, (int) lba, (int) (lba >>> 32), blocks - 1, 0, 0, 0);
        r.context = callback;
        r.tag = tag;
        r.retries = 0;
        r.deadlineNanos = 0;
        q.submit(r);
        q.ringDoorbell();
    }

    /** Reaps up to {@code max} completions and runs their callbacks; {@return how many} */
    int processCompletions(int max) {
        int limit = Math.min(max, q.capacity() - doneCount);
        if (limit > 0) {
            q.reap(this, limit);
        }
        int n = doneCount;
        for (int i = 0; i < n; i++) {
            Object c = doneContext[i];
            doneContext[i] = null;
            try {
                if (c instanceof IoCallback cb) {
                    cb.complete(doneTag[i], doneStatus[i]);
                }
            } catch (RuntimeException e) {
                // IoQueuePair logs and carries on; a benchmark callback never throws.
            }
        }
        doneCount = 0;
        return n;
    }

    @Override
    public void completed(Request r, int dw0, int statusField) {
        doneContext[doneCount] = r.context;
        doneTag[doneCount] = r.tag;
        doneStatus[doneCount] = decodeStatus(statusField);
        doneCount++;
        q.free(r);
    }

    @Override
    public void deviceFault(String what) {
        throw new IllegalStateException("device fault in benchmark: " + what);
    }

    /** The driver's status decoding (IoStatus.fromCompletion): 0 for success, else DNR | SCT << 8 | SC. */
    static int decodeStatus(int statusField) {
        int sc = (statusField >>> 1) & 0xff;
        int sct = (statusField >>> 9) & 0x7;
        return sc == 0 && sct == 0 ? 0 : (statusField & 1 << 15) | sct << 8 | sc;
    }
}
