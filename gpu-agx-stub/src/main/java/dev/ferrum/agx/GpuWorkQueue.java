package dev.ferrum.agx;

import dev.ferrum.agx.internal.CommandHeap;
import dev.ferrum.agx.internal.ProtocolViolation;
import dev.ferrum.agx.internal.RingMemory;
import dev.ferrum.agx.internal.SlotAllocator;
import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.agx.internal.fw.QueueLayout;
import dev.ferrum.driver.sync.Arc;
import dev.ferrum.driver.sync.CondVar;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;
import dev.ferrum.memory.DmaPool;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A GPU work queue (Asahi {@code workqueue.rs} {@code WorkQueue}): a ring of command pointers the firmware executes
 * in order, its {@link QueueLayout QueueInfo}, and the driver's bookkeeping of the jobs in flight. While it has
 * work in flight it owns an event slot; each job's command advances that slot's stamp to the job's value, and
 * {@link #signal()} completes every job whose value the stamp has reached.
 *
 * <p>Life cycle: the queue is shared through {@link Arc} handles (the user's {@link ComputeQueue}, each job, the
 * event manager while the queue owns a slot); the last handle's close frees its DMA memory. Each job goes through
 * {@link Job} create → {@link #commit} → {@link #submit} → {@link Submission#run()}; see {@link Job}.
 *
 * <p>Locking: one {@link Mutex} ({@code agx.queue}) guards the bookkeeping; a {@link Submission} holds it from the
 * moment a stamp value is assigned until the write pointer is published (or rolled back), so values reach the ring
 * in order. Lock order: queue, then event slot allocator, then the pipe channel. Nothing waits for long with the
 * queue lock held (the wait for an event slot happens outside it; the wait for ring room releases it), and jobs are
 * finished (fences signalled, buffers unpinned) after it is released.
 *
 * <p>Stamp values: successive jobs get successive 32-bit values (compared with wrap-around, as Asahi's
 * {@code EventValue}). Asahi assigns them at commit and relies on the DRM scheduler to submit in commit order; here
 * they are assigned at submit under the lock, so a prepared job may be dropped in any order.
 *
 * <p>Invariants: {@code pending} holds the running jobs in ring order with increasing stamp values; at most
 * {@code size - 1} jobs are pending or reserved; the queue owns an event slot whenever a job is alive
 * ({@code jobs > 0}); a stamp from the firmware that is behind the last completed value or ahead of the last
 * submitted one is a {@link ProtocolViolation}, never a reason to complete a job.
 */
final class GpuWorkQueue {
    private static final class Inner {
        final ArrayDeque<Job> pending = new ArrayDeque<>();
        int wptr;
        int freeptr;
        int reserved;
        int jobs;
        SlotAllocator<EventManager.Owners>.Slot event;
        SlotAllocator.Token lastToken;
        int eventValue;
        int lastCompleted;
        long commitSeq;
        long submitSeq;
        boolean isNew = true;
        GpuException dead;
        boolean freed;
    }

    final int id;
    final int size;
    private final AgxDevice device;
    private final RingMemory memory;
    private final MemorySegment infoView;
    private final MemorySegment ringView;
    private final Mutex<Inner> lock = new Mutex<>(new Inner(), LockClass.named("agx.queue"));
    private final CondVar room = new CondVar();

    private GpuWorkQueue(AgxDevice device, DmaPool pool, int id, int size) {
        this.device = device;
        this.id = id;
        this.size = size;
        this.memory = new RingMemory(pool, QueueLayout.INFO.byteSize(), size * QueueLayout.ENTRY_SIZE);
        this.infoView = memory.control().segment();
        this.ringView = memory.entries().segment();
        Le.LONG.set(infoView, QueueLayout.RING, memory.entries().deviceAddress());
        Le.INT.set(infoView, QueueLayout.RING_SIZE, size);
        Le.INT.set(infoView, QueueLayout.QUEUE_ID, id);
    }

    /** {@return a new queue, as its first handle; closing the last handle frees its memory} */
    static Arc<GpuWorkQueue> create(AgxDevice device, DmaPool pool, int id, int size) {
        GpuWorkQueue q = new GpuWorkQueue(device, pool, id, size);
        device.queueCreated(q);
        return Arc.of(q, GpuWorkQueue::free);
    }

    /** {@return the device address of the QueueInfo} */
    long infoAddress() {
        return memory.control().deviceAddress();
    }

    /**
     * Starts a job (Asahi {@code WorkQueue::new_job}): takes an event slot if the queue has none (waiting for one if
     * all are owned), counts the job alive.
     *
     * <p>Unlike Asahi, the wait for a slot happens without the queue lock: the watchdog and the completion path take
     * queue locks on the device's ordered workqueue, and a submitter parked with its queue locked would stall them
     * (and so the completions that would free a slot).
     *
     * @param self an open handle to this queue; the job gets its own clone
     */
    static Job newJob(Arc<GpuWorkQueue> self, long jobId, CommandHeap.Cmd cmd, GpuBuffer[] buffers,
                      Duration timeout) {
        GpuWorkQueue q = self.get();
        Arc<GpuWorkQueue> ref = self.clone();
        try {
            q.countJob(self, jobId);
            return new Job(q.device, jobId, ref, cmd, buffers, timeout);
        } catch (RuntimeException e) {
            ref.close();
            throw e;
        }
    }

    /** Counts a new job alive, first borrowing an event slot if the queue owns none. */
    private void countJob(Arc<GpuWorkQueue> self, long jobId) {
        SlotAllocator.Token token;
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (in.dead != null) {
                throw jobError(jobId, in.dead);
            }
            if (in.event != null) {
                in.jobs++;
                return;
            }
            token = in.lastToken;
        }
        Arc<GpuWorkQueue> owner = self.clone();
        SlotAllocator<EventManager.Owners>.Slot slot;
        try {
            slot = device.events().get(token, owner, device.options().submitTimeout());
        } catch (RuntimeException e) {
            owner.close();
            throw e instanceof GpuException ge ? jobError(jobId, ge)
                    : new GpuException(jobId, "job " + jobId + ": no event slot: " + e.getMessage(), e);
        }
        SlotAllocator<EventManager.Owners>.Slot surplus = null;
        GpuException dead = null;
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (in.dead != null) {
                dead = jobError(jobId, in.dead);
                surplus = slot;
            } else {
                if (in.event == null) {
                    in.event = slot;
                    in.lastToken = slot.token();
                    in.eventValue = device.events().stamp(slot.slot());
                    in.lastCompleted = in.eventValue;
                } else {
                    surplus = slot; // another submitter of this queue got one first
                }
                in.jobs++;
            }
        }
        if (surplus != null) {
            device.events().release(surplus).close();
        }
        if (dead != null) {
            throw dead;
        }
    }

    /**
     * Reserves room in the ring for {@code job} (Asahi {@code Job::commit}), waiting up to the submit timeout while
     * the queue is full.
     */
    void commit(Job job) {
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (job.state != Job.State.NEW) {
                throw new IllegalStateException(job + " cannot be committed: it is " + job.state);
            }
            Duration timeout = device.options().submitTimeout();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (in.dead == null && in.pending.size() + in.reserved >= size - 1) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new GpuException(job.id, "job " + job.id + ": queue " + id + " stayed full (" + (size - 1)
                            + " jobs in flight) for " + timeout, null);
                }
                try {
                    room.await(g, Duration.ofNanos(left));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new GpuException(job.id, "job " + job.id + ": interrupted while waiting for room in queue "
                            + id, e);
                }
            }
            if (in.dead != null) {
                throw jobError(job.id, in.dead);
            }
            in.reserved++;
            in.commitSeq++;
            job.state = Job.State.COMMITTED;
        }
    }

    /**
     * Puts {@code job}'s command into the ring with the next stamp value (Asahi {@code Job::submit}) and returns
     * the submission, which holds the queue lock until it is run or closed.
     */
    Submission submit(Job job) {
        Guard<Inner> g = lock.lock();
        try {
            Inner in = g.get();
            if (job.state != Job.State.COMMITTED) {
                throw new IllegalStateException(job + " cannot be submitted: it is " + job.state);
            }
            if (in.dead != null) {
                throw jobError(job.id, in.dead);
            }
            int value = in.eventValue + 1;
            MemorySegment c = job.cmd.view();
            Le.INT.set(c, CommandLayout.EVENT_SLOT, in.event.slot());
            Le.INT.set(c, CommandLayout.STAMP_VALUE, value);
            Le.LONG.set(ringView, (long) in.wptr * QueueLayout.ENTRY_SIZE, job.cmd.deviceAddress());
            in.pending.addLast(job);
            in.reserved--;
            in.wptr = (in.wptr + 1) % size;
            in.eventValue = value;
            job.stampValue = value;
            job.headSince = System.nanoTime();
            job.state = Job.State.SUBMITTED;
            return new Submission(g, job);
        } catch (RuntimeException | Error e) {
            g.close();
            throw e;
        }
    }

    /** Undoes {@link #commit} and the job's count (a job dropped before it ran). */
    void rollback(Job job) {
        Arc<GpuWorkQueue> released;
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (job.state == Job.State.COMMITTED) {
                in.reserved--;
                in.commitSeq--;
            }
            in.jobs--;
            released = releaseEventIfIdle(in);
        }
        room.notifyAllWaiters();
        if (released != null) {
            released.close();
        }
    }

    /** Under the lock: gives the event slot back if no job is alive. {@return the owner handle to close} */
    private Arc<GpuWorkQueue> releaseEventIfIdle(Inner in) {
        if (in.jobs != 0 || in.event == null) {
            return null;
        }
        SlotAllocator<EventManager.Owners>.Slot e = in.event;
        in.event = null;
        return device.events().release(e);
    }

    /**
     * The queue's event slot fired (Asahi {@code WorkQueue::signal}): completes every pending job whose stamp value
     * the stamp has reached, in order.
     *
     * @throws ProtocolViolation if the stamp went backwards or beyond the last value submitted
     */
    void signal() {
        List<Job> done = null;
        Arc<GpuWorkQueue> released = null;
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (in.event == null) {
                return;
            }
            int slot = in.event.slot();
            int current = device.events().stamp(slot);
            if (current - in.eventValue > 0) {
                throw new ProtocolViolation("stamp of event slot " + slot + " is " + Integer.toUnsignedString(current)
                        + ", beyond the last value submitted on queue " + id + " ("
                        + Integer.toUnsignedString(in.eventValue) + ")");
            }
            if (current - in.lastCompleted < 0) {
                throw new ProtocolViolation("stamp of event slot " + slot + " went back from "
                        + Integer.toUnsignedString(in.lastCompleted) + " to " + Integer.toUnsignedString(current));
            }
            in.lastCompleted = current;
            while (!in.pending.isEmpty() && in.pending.peekFirst().stampValue - current <= 0) {
                if (done == null) {
                    done = new ArrayList<>();
                }
                done.add(in.pending.pollFirst());
            }
            if (done == null) {
                return;
            }
            in.jobs -= done.size();
            in.freeptr = (in.freeptr + done.size()) % size;
            // Release: our reads of the finished commands happen before the firmware may reuse their entries.
            Le.INT.setRelease(infoView, QueueLayout.CPU_FREEPTR, in.freeptr);
            Job head = in.pending.peekFirst();
            if (head != null) {
                head.headSince = System.nanoTime();
            }
            released = releaseEventIfIdle(in);
        }
        room.notifyAllWaiters();
        if (released != null) {
            released.close();
        }
        for (Job j : done) {
            j.finish(j.result());
        }
    }

    /**
     * Fails every pending job with {@code reason} and refuses all later work (the firmware crashed or the device
     * is closing). The firmware must already be stopped: the jobs' memory is released.
     */
    void fail(GpuException reason) {
        List<Job> failed;
        Arc<GpuWorkQueue> released;
        try (Guard<Inner> g = lock.lock()) {
            Inner in = g.get();
            if (in.dead == null) {
                in.dead = reason;
            }
            failed = new ArrayList<>(in.pending);
            in.pending.clear();
            in.jobs -= failed.size();
            released = releaseEventIfIdle(in);
        }
        room.notifyAllWaiters();
        if (released != null) {
            released.close();
        }
        for (Job j : failed) {
            j.finish(jobError(j.id, reason));
        }
    }

    /** {@return the oldest pending job if it has been at the head longer than its timeout plus {@code grace}} */
    Job overdue(long now, Duration grace) {
        return lock.with(in -> {
            Job head = in.pending.peekFirst();
            if (head != null && now - head.headSince > head.timeout.toNanos() + grace.toNanos()) {
                return head;
            }
            return null;
        });
    }

    /** {@return the number of jobs in flight} */
    int pendingCount() {
        return lock.with(in -> in.pending.size());
    }

    /** {@return the number of jobs alive: created and not finished or dropped} */
    int aliveJobs() {
        return lock.with(in -> in.jobs);
    }

    /** {@return the commit and submit sequence numbers (for tests of the rollback)} */
    long[] sequences() {
        return lock.with(in -> new long[] {in.commitSeq, in.submitSeq, in.reserved, in.eventValue});
    }

    /** {@return the event slot the queue owns now, or -1} */
    int eventSlot() {
        return lock.with(in -> in.event == null ? -1 : in.event.slot());
    }

    private GpuException jobError(long jobId, GpuException reason) {
        if (reason instanceof FirmwareCrashedException crash) {
            return new FirmwareCrashedException(jobId, crash);
        }
        return new GpuException(jobId, "job " + jobId + " failed: " + reason.getMessage(), reason);
    }

    /** Frees the queue's memory: on the last handle's close, or by the device after the firmware stopped. */
    void free() {
        boolean now = lock.with(in -> {
            if (in.freed) {
                return false;
            }
            in.freed = true;
            return true;
        });
        if (now) {
            memory.close();
            device.queueFreed(this);
        }
    }

    @Override
    public String toString() {
        return "GpuWorkQueue[" + id + ", " + size + " entries]";
    }

    /**
     * A job whose command is in the ring but not yet published (Asahi {@code JobSubmission}). Holds the queue lock:
     * {@link #run()} publishes and sends the pipe message; {@link #close()} without {@code run()} rolls the job back
     * to committed. Invariant: used on the submitting thread only, closed exactly once.
     */
    final class Submission implements AutoCloseable {
        private final Guard<Inner> guard;
        private final Job job;
        private boolean ran;

        private Submission(Guard<Inner> guard, Job job) {
            this.guard = guard;
            this.job = job;
        }

        /** Publishes the write pointer (release) and tells the firmware to run the queue. */
        void run() {
            Inner in = guard.get();
            // Release: the ring entry and the command written above are visible before the firmware sees wptr.
            Le.INT.setRelease(infoView, QueueLayout.CPU_WPTR, in.wptr);
            device.runQueue(infoAddress(), in.wptr, in.event.slot(), id, in.isNew);
            in.isNew = false;
            in.submitSeq++;
            job.state = Job.State.RUNNING;
            ran = true;
        }

        /** Releases the queue lock, rolling the job back to committed if it did not run. */
        @Override
        public void close() {
            try {
                if (!ran) {
                    Inner in = guard.get();
                    in.pending.removeLast();
                    in.wptr = Math.floorMod(in.wptr - 1, size);
                    in.eventValue--;
                    in.reserved++;
                    Le.INT.setRelease(infoView, QueueLayout.CPU_WPTR, in.wptr);
                    job.state = Job.State.COMMITTED;
                }
            } finally {
                guard.close();
            }
        }
    }
}
