package dev.ferrum.bench.internal;

/**
 * The device half of the NVMe benchmark loop: a minimal "null" NVMe I/O queue pair that completes every command
 * at once with success and transfers no data. It is the same code for the safe driver and the raw driver (and
 * {@code native/c/nvme_null_loop.c} is its line-by-line C twin), so that the difference between the two Java rows
 * is driver cost only.
 *
 * <p>Like silicon it works on raw memory by address: it reads the SQ tail doorbell (acquire), reads each new
 * submission entry's command ID, writes a completion entry (DW0-DW1, then DW2-DW3 = SQ head, SQ ID, command ID and
 * phase tag in one 64-bit release store, so the driver that sees the phase sees the whole entry), and stops when
 * the completion queue is full (it reads the CQ head doorbell). It validates the doorbell value as a device must.
 *
 * <p>Why 64-bit stores: a device writes a completion entry in one burst. Written as four 32-bit stores on the
 * driver's own thread (stepped mode), the driver's 64-bit load of DW2-DW3 would have to wait for two stores still in
 * the store buffer (a store-forwarding stall, about 8 ns here) that no real device causes.
 *
 * <p>{@link #step()} may run on the driver's thread (stepped, deterministic) or in a loop on a thread of its own
 * ({@link #startThread}); not both.
 *
 * <p>Invariants: {@code 0 <= sqHead, cqTail < entries}; a completion is written only into a free CQ slot.
 */
public final class NullDevice {
    private static final long SQE_SIZE = 64;
    private static final long CQE_SIZE = 16;

    private final long sq;
    private final long cq;
    private final long sqTailDoorbell;
    private final long cqHeadDoorbell;
    private final int entries;
    private final int qid;
    private int sqHead;
    private int cqTail;
    private int phase = 1;
    private volatile boolean running;
    private Thread thread;
    private long completed;

    /**
     * @param sq             address of the submission ring ({@code entries * 64} bytes, live while the device runs)
     * @param cq             address of the completion ring ({@code entries * 16} bytes)
     * @param sqTailDoorbell address of the queue's SQ tail doorbell register
     * @param cqHeadDoorbell address of the queue's CQ head doorbell register
     */
    public NullDevice(long sq, long cq, long sqTailDoorbell, long cqHeadDoorbell, int entries, int qid) {
        this.sq = sq;
        this.cq = cq;
        this.sqTailDoorbell = sqTailDoorbell;
        this.cqHeadDoorbell = cqHeadDoorbell;
        this.entries = entries;
        this.qid = qid;
    }

    /**
     * Completes every command submitted since the last step (as far as the CQ has room).
     *
     * @return the number of commands completed
     * @throws IllegalStateException if the driver wrote an SQ tail outside the queue (a device would fail the
     *                               controller)
     */
    public int step() {
        // SAFETY: the doorbell addresses are inside the BAR segment the benchmark keeps alive while the device runs.
        int tail = Raw.getIntAcquire(sqTailDoorbell);
        if (tail == sqHead) {
            return 0;
        }
        if (tail < 0 || tail >= entries) {
            throw new IllegalStateException("SQ tail doorbell " + tail + " is outside a queue of " + entries);
        }
        // SAFETY: as above.
        int cqHead = Raw.getIntAcquire(cqHeadDoorbell);
        int n = 0;
        int next = cqTail + 1 == entries ? 0 : cqTail + 1;
        while (sqHead != tail && next != cqHead) {
            // SAFETY: sqHead and cqTail are in [0, entries): the entries are inside the rings the benchmark owns.
            long sqe = sq + sqHead * SQE_SIZE;
            int cid = Raw.getInt(sqe) >>> 16;
            if (++sqHead == entries) {
                sqHead = 0;
            }
            long cqe = cq + cqTail * CQE_SIZE;
            Raw.putLong(cqe, 0L);                                 // DW0 (command specific, none) and DW1
            // DW2 (SQ head, SQ ID) and DW3 (CID, status 0 with the phase tag) in one release store, last: the
            // entry arrives in one piece, as a device's 16-byte write does.
            Raw.putLongRelease(cqe + 8, (sqHead | (long) qid << 16) | (long) (cid | phase << 16) << 32);
            cqTail = next;
            if (next == 0) {
                phase ^= 1;
            }
            next = cqTail + 1 == entries ? 0 : cqTail + 1;
            n++;
        }
        completed += n;
        return n;
    }

    /**
     * Starts a platform thread that runs {@link #step()} in a loop until {@link #stopThread()}: the device "on its
     * own thread", as hardware runs beside the CPU. When idle it waits as {@link Backoff} says.
     *
     * @throws IllegalStateException if it already runs
     */
    public synchronized void startThread(String name) {
        if (thread != null) {
            throw new IllegalStateException("null device thread already running");
        }
        running = true;
        thread = Thread.ofPlatform().daemon().name(name).start(() -> {
            Backoff backoff = new Backoff();
            while (running) {
                if (step() != 0) {
                    backoff.reset();
                } else {
                    backoff.idle();
                }
            }
        });
    }

    /** Stops the device thread started by {@link #startThread} and waits for it; does nothing if none runs. */
    public synchronized void stopThread() {
        Thread t = thread;
        if (t == null) {
            return;
        }
        running = false;
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping the null device thread", e);
        } finally {
            thread = null;
        }
    }

    /** {@return commands completed so far (read it on the stepping thread, or after stopping the device thread)} */
    public long completed() {
        return completed;
    }
}
