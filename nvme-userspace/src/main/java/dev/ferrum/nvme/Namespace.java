package dev.ferrum.nvme;

import dev.ferrum.memory.DmaBuffer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * An active NVMe namespace: its geometry, and I/O through the controller's shared queue pair (created on first
 * use; thread-safe, interrupt-driven when MSI-X is available). For the fastest path use an owner-thread
 * {@link IoQueuePair} and pass this namespace to it.
 *
 * <p>Closing a namespace refuses new I/O through it (on any queue pair) and waits for the I/O started through its
 * own methods to finish. Its controller closes it too.
 *
 * <p>Invariants: {@link #blockSize()} and {@link #blockCount()} come from validated Identify Namespace data and do
 * not change; no I/O is submitted on a closed namespace.
 */
public final class Namespace implements AutoCloseable {
    private final NvmeController controller;
    private final NamespaceInfo info;
    private final AtomicInteger inFlight = new AtomicInteger();
    /** log2 of the block size (a power of two, validated by {@link NamespaceInfo#parse}). */
    private final int blockShift;
    private volatile boolean closed;

    Namespace(NvmeController controller, NamespaceInfo info) {
        this.controller = controller;
        this.info = info;
        this.blockShift = Integer.numberOfTrailingZeros(info.blockSize());
    }

    /** {@return log2 of the block size} */
    int blockShift() {
        return blockShift;
    }

    /** {@return the namespace ID} */
    public int id() {
        return info.nsid();
    }

    /** {@return the logical block size in bytes} */
    public int blockSize() {
        return info.blockSize();
    }

    /** {@return the size in logical blocks} */
    public long blockCount() {
        return info.size();
    }

    /** {@return the size in bytes} */
    public long sizeBytes() {
        return info.sizeBytes();
    }

    /** {@return Identify Namespace data} */
    public NamespaceInfo info() {
        return info;
    }

    /** {@return the controller} */
    public NvmeController controller() {
        return controller;
    }

    /** {@return whether the namespace is open} */
    public boolean isOpen() {
        return !closed;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("namespace " + id() + " of " + controller.address() + " is closed");
        }
    }

    private IoQueuePair begin() {
        checkOpen();
        inFlight.incrementAndGet();
        if (closed) {
            inFlight.decrementAndGet();
            checkOpen();
        }
        try {
            return controller.defaultQueuePair();
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            throw e;
        }
    }

    private void end() {
        inFlight.decrementAndGet();
    }

    /** Reads {@code blocks} blocks at {@code lba} into {@code buffer} and waits. */
    public void read(long lba, int blocks, DmaBuffer buffer) {
        IoQueuePair qp = begin();
        try {
            qp.read(this, lba, blocks, buffer);
        } finally {
            end();
        }
    }

    /** Writes {@code blocks} blocks at {@code lba} from {@code buffer} and waits. */
    public void write(long lba, int blocks, DmaBuffer buffer) {
        IoQueuePair qp = begin();
        try {
            qp.write(this, lba, blocks, buffer);
        } finally {
            end();
        }
    }

    /** Flushes the volatile write cache and waits. */
    public void flush() {
        IoQueuePair qp = begin();
        try {
            qp.flush(this);
        } finally {
            end();
        }
    }

    /** Writes zeroes and waits. */
    public void writeZeroes(long lba, int blocks) {
        IoQueuePair qp = begin();
        try {
            qp.writeZeroes(this, lba, blocks);
        } finally {
            end();
        }
    }

    /** Deallocates (trims) and waits. */
    public void deallocate(long lba, int blocks) {
        IoQueuePair qp = begin();
        try {
            qp.deallocate(this, lba, blocks);
        } finally {
            end();
        }
    }

    /** Reads asynchronously; the future completes (or fails) once the data is in {@code buffer}. */
    public CompletableFuture<Void> readAsync(long lba, int blocks, DmaBuffer buffer) {
        IoQueuePair qp = begin();
        try {
            return qp.readAsync(this, lba, blocks, buffer).whenComplete((v, e) -> end());
        } catch (RuntimeException e) {
            end();
            throw e;
        }
    }

    /** Writes asynchronously. */
    public CompletableFuture<Void> writeAsync(long lba, int blocks, DmaBuffer buffer) {
        IoQueuePair qp = begin();
        try {
            return qp.writeAsync(this, lba, blocks, buffer).whenComplete((v, e) -> end());
        } catch (RuntimeException e) {
            end();
            throw e;
        }
    }

    /**
     * Closes the namespace: new I/O is refused; I/O started through this object's methods is waited for (up to the
     * command timeout plus the abort timeout). Idempotent.
     *
     * @throws NvmeTimeoutException if I/O is still in flight after that
     */
    @Override
    public void close() {
        closed = true;
        long deadline = System.nanoTime() + controller.options().commandTimeout().toNanos()
                + controller.options().abortTimeout().toNanos();
        while (inFlight.get() > 0) {
            if (System.nanoTime() - deadline > 0) {
                throw new NvmeTimeoutException("namespace " + id() + " closed with " + inFlight.get()
                        + " command(s) still in flight");
            }
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(50));
        }
    }

    void closeQuietly() {
        try {
            close();
        } catch (RuntimeException e) {
            closed = true;
        }
    }

    @Override
    public String toString() {
        return "Namespace[" + id() + " of " + controller.address() + ", " + blockCount() + " x " + blockSize() + " B]";
    }
}
