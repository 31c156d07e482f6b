package dev.ferrum.agx;

import dev.ferrum.driver.sync.CondVar;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.SpinLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The completion of one submitted job (the role of a {@code dma_fence} in the Asahi driver). It is signalled exactly
 * once: successfully, or with the job's {@link GpuException} ({@link GpuFaultException}, {@link GpuTimeoutException},
 * {@link FirmwareCrashedException}, or a plain {@code GpuException} when the device closed or the firmware rejected
 * the job). Every failure path of the driver signals the fence, so no waiter is left hanging.
 *
 * <p>Memory ordering: everything the GPU wrote for the job (its output buffer) is visible to a thread after
 * {@link #await} returned {@code true}, after {@link #isSignalled()} returned true, and inside a
 * {@link #whenSignalled} callback: the driver reads the firmware's stamp with acquire ordering before it signals,
 * and signalling happens under the fence's lock.
 *
 * <p>Invariants: the state goes from pending to signalled once and never back; callbacks run exactly once each,
 * after the state is final.
 */
public final class Fence {
    private static final Logger LOG = LoggerFactory.getLogger(Fence.class);

    private static final class State {
        boolean signalled;
        GpuException error;
        List<Consumer<Fence>> callbacks;
    }

    private final long jobId;
    private final SpinLock<State> lock = new SpinLock<>(new State(), LockClass.named("agx.fence"));
    private final CondVar signalledCond = new CondVar();
    private volatile boolean signalled;

    Fence(long jobId) {
        this.jobId = jobId;
    }

    /** {@return the ID of the job this fence belongs to} */
    public long jobId() {
        return jobId;
    }

    /** {@return whether the job has finished (successfully or not)} Never blocks. */
    public boolean isSignalled() {
        return signalled;
    }

    /** {@return the job's failure, or empty if it succeeded or is still pending} Never blocks. */
    public Optional<GpuException> error() {
        if (!signalled) {
            return Optional.empty();
        }
        return lock.with(s -> Optional.ofNullable(s.error));
    }

    /**
     * Waits until the job has finished or {@code timeout} has elapsed.
     *
     * @return {@code true} if the job completed successfully; {@code false} if the wait timed out with the job still
     *         pending (the fence stays valid: wait again or give up)
     * @throws GpuFaultException        if the job faulted (the exception names the GPU virtual address)
     * @throws GpuTimeoutException      if the GPU killed the job for running past its own timeout
     * @throws FirmwareCrashedException if the firmware crashed or stopped responding
     * @throws GpuException             if the job failed otherwise (device closed, command rejected)
     * @throws InterruptedException     if the calling thread was interrupted while waiting
     */
    public boolean await(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Guard<State> g = lock.lock()) {
            State s = g.get();
            while (!s.signalled) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                signalledCond.await(g, Duration.ofNanos(left));
            }
            if (s.error != null) {
                throw s.error;
            }
            return true;
        }
    }

    /**
     * Runs {@code callback} once the fence is signalled: at once on this thread if it already is, otherwise on the
     * driver's completion thread (keep it short; it must not block on the GPU).
     *
     * @return this fence
     */
    public Fence whenSignalled(Consumer<Fence> callback) {
        Objects.requireNonNull(callback, "callback");
        boolean now;
        try (Guard<State> g = lock.lock()) {
            State s = g.get();
            now = s.signalled;
            if (!now) {
                if (s.callbacks == null) {
                    s.callbacks = new ArrayList<>(2);
                }
                s.callbacks.add(callback);
            }
        }
        if (now) {
            callback.accept(this);
        }
        return this;
    }

    /**
     * Signals the fence: with {@code error == null} the job succeeded.
     *
     * @return false if it was already signalled (nothing changes)
     */
    boolean signal(GpuException error) {
        List<Consumer<Fence>> callbacks;
        try (Guard<State> g = lock.lock()) {
            State s = g.get();
            if (s.signalled) {
                return false;
            }
            s.signalled = true;
            s.error = error;
            callbacks = s.callbacks;
            s.callbacks = null;
            signalled = true;
        }
        signalledCond.notifyAllWaiters();
        if (callbacks != null) {
            for (Consumer<Fence> c : callbacks) {
                try {
                    c.accept(this);
                } catch (RuntimeException e) {
                    LOG.error("callback of the fence of job {} threw", jobId, e);
                }
            }
        }
        return true;
    }

    @Override
    public String toString() {
        if (!signalled) {
            return "Fence[job " + jobId + ", pending]";
        }
        return "Fence[job " + jobId + error().map(e -> ", failed: " + e.getMessage()).orElse(", done") + "]";
    }
}
