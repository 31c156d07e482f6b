package dev.ferrum.agx;

import dev.ferrum.agx.internal.CommandHeap;
import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.driver.sync.Arc;

import java.lang.foreign.MemorySegment;
import java.time.Duration;

/**
 * One job on its way through a {@link GpuWorkQueue} (Asahi {@code workqueue.rs} {@code Job} and
 * {@code JobSubmission}): created (holding its command object, pinned buffers and a reference to the queue and its
 * event slot), committed (ring room reserved), submitted (stamp value assigned, command pointer in the ring, queue
 * lock held), run (write pointer published, pipe message sent). A job dropped before it runs gives back everything:
 * ring reservation, stamp value, command object, buffer pins, and the event slot if the queue became idle.
 *
 * <p>Invariants: {@link #finish} runs exactly once per job that ran (completion, failure), and {@link #close()}
 * rolls back exactly once a job that did not; after either, the job holds no resources.
 */
final class Job implements AutoCloseable {
    enum State { NEW, COMMITTED, SUBMITTED, RUNNING, DONE }

    final long id;
    final Arc<GpuWorkQueue> queueRef;
    final GpuWorkQueue queue;
    final CommandHeap.Cmd cmd;
    final GpuBuffer[] buffers;
    final Fence fence;
    final Duration timeout;
    private final AgxDevice device;
    volatile State state = State.NEW;
    /** Set by the queue under its lock. */
    int stampValue;
    /** When the job became the oldest in flight on its queue (nanoTime); under the queue lock. */
    long headSince;

    Job(AgxDevice device, long id, Arc<GpuWorkQueue> queueRef, CommandHeap.Cmd cmd, GpuBuffer[] buffers,
        Duration timeout) {
        this.device = device;
        this.id = id;
        this.queueRef = queueRef;
        this.queue = queueRef.get();
        this.cmd = cmd;
        this.buffers = buffers;
        this.timeout = timeout;
        this.fence = new Fence(id);
    }

    /** Reserves ring room. */
    void commit() {
        queue.commit(this);
    }

    /** {@return the submission, holding the queue lock; {@code run()} it or close it to roll back} */
    GpuWorkQueue.Submission submit() {
        return queue.submit(this);
    }

    /** Drops a job that did not run: rolls back what it reserved. No-op once it ran. */
    @Override
    public void close() {
        State s = state;
        if (s == State.RUNNING || s == State.DONE) {
            return;
        }
        if (s == State.SUBMITTED) {
            throw new IllegalStateException("job " + id + " is being submitted; close its submission first");
        }
        queue.rollback(this);
        state = State.DONE;
        releaseResources();
    }

    /** The job's command finished on the GPU or was failed by the driver: release and signal. Once. */
    void finish(GpuException error) {
        state = State.DONE;
        releaseResources();
        device.jobFinished(error);
        fence.signal(error);
    }

    /** Decodes the result block the firmware wrote (after the stamp said the command is done). */
    GpuException result() {
        MemorySegment c = cmd.view();
        int status = (int) Le.INT.get(c, CommandLayout.STATUS);
        return switch (status) {
            case CommandLayout.STATUS_OK -> null;
            case CommandLayout.STATUS_FAULT -> {
                int flags = (int) Le.INT.get(c, CommandLayout.FAULT_FLAGS);
                long va = (long) Le.LONG.get(c, CommandLayout.FAULT_ADDRESS);
                GpuFaultException.Kind kind = (flags & CommandLayout.FAULT_PERMISSION) != 0
                        ? GpuFaultException.Kind.PERMISSION
                        : (flags & CommandLayout.FAULT_IOMMU) != 0 ? GpuFaultException.Kind.IOMMU
                        : GpuFaultException.Kind.UNMAPPED;
                yield new GpuFaultException(id, va, (flags & CommandLayout.FAULT_WRITE) != 0, kind);
            }
            case CommandLayout.STATUS_TIMEOUT -> new GpuTimeoutException(id, timeout);
            case CommandLayout.STATUS_INVALID -> new GpuException(id, "job " + id
                    + ": the firmware rejected the command as invalid", null);
            default -> new GpuException(id, "job " + id + ": the firmware signalled completion but left result status 0x"
                    + Integer.toHexString(status) + " (not a known status)", null);
        };
    }

    private void releaseResources() {
        for (GpuBuffer b : buffers) {
            b.release();
        }
        device.freeCommand(cmd);
        queueRef.close();
    }

    @Override
    public String toString() {
        return "Job[" + id + ", queue " + queue.id + ", " + state + "]";
    }
}
