package dev.ferrum.driver.mock;

import dev.ferrum.memory.internal.LiveResources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A simulated PCI device on a {@link MockPciBus}. It behaves like silicon: it owns its BAR memory, notices what the
 * driver writes there (doorbells, control registers) by looking at it, reads and writes host memory only through
 * its {@link DmaEngine} (the mock IOMMU), and raises MSI-X interrupts; all of it on its own thread, or, in stepped
 * mode, only when a test or benchmark calls {@link #step()}.
 *
 * <p>Subclasses implement {@link #process()} (look at the registers, make progress, return whether anything
 * happened) and {@link #reset()} (function-level reset). Both are called with the model's state lock held, so they
 * never run concurrently with each other.
 *
 * <p>Invariants: BAR memory is page aligned, zero-filled at creation, and stays allocated until the bus has revoked
 * every driver view of it; a model is attached to one slot of one bus, once (a second attach, or one after the
 * memory was freed, is refused); {@code process()} and {@code reset()} are never concurrent.
 */
public abstract class DeviceModel {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceModel.class);
    private static final int SPINS = 200;
    private static final int YIELDS = 50;

    private final DeviceConfig config;
    private final Arena memory = Arena.ofShared();
    private final LiveResources.Registration memoryRegistration;
    private final MemorySegment[] bars = new MemorySegment[6];
    private final ReentrantLock state = new ReentrantLock();
    /**
     * Orders {@link #attach} and {@link #free}. Private, not the model's monitor: a subclass may synchronize on
     * itself in {@code process()}, which {@code free} waits for.
     */
    private final Object lifecycle = new Object();
    private volatile MockFunction function;
    /** Set once {@link #free()} has run: the BAR memory is gone and the model can never be attached again. */
    private volatile boolean freed;
    private volatile Thread thread;
    private volatile boolean running;
    private volatile long idleParkNanos = 20_000;

    protected DeviceModel(DeviceConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.memoryRegistration = LiveResources.open(LiveResources.Kind.ARENA, "BAR memory of device model "
                + identity() + " (freed when its bus removes it)");
        for (int i = 0; i < 6; i++) {
            if (config.barSize(i) > 0) {
                bars[i] = memory.allocate(config.barSize(i), 4096);
            }
        }
    }

    /** {@return the device's PCI identity and layout} */
    public final DeviceConfig config() {
        return config;
    }

    /** {@return the device's own view of BAR {@code index} (what the driver's register accesses land in)} */
    protected final MemorySegment bar(int index) {
        MemorySegment b = bars[index];
        if (b == null) {
            throw new IllegalArgumentException("BAR" + index + " is not implemented by this model");
        }
        return b;
    }

    /** {@return the DMA engine: host memory by device address, through the mock IOMMU} */
    protected final DmaEngine dma() {
        return attached().dma();
    }

    /** Raises MSI-X vector {@code vector} if the driver enabled it; otherwise the interrupt is lost, as in hardware. */
    protected final void raiseInterrupt(int vector) {
        attached().raise(vector);
    }

    /** {@return whether the driver enabled MSI-X} */
    protected final boolean msixEnabled() {
        return attached().msixEnabled();
    }

    /**
     * Runs {@code action} with the model's state lock held: never during a {@link #process()} or {@link #reset()},
     * so when this returns, a step that was running has finished and every later step sees what {@code action}
     * changed. For fault injection that must take effect before the test's next move (a pause, say): a plain field
     * write would be seen only by the next step, while the step already running goes on without it.
     */
    protected final void betweenSteps(Runnable action) {
        state.lock();
        try {
            action.run();
        } finally {
            state.unlock();
        }
    }

    /** {@return whether the driver enabled bus mastering (DMA is refused otherwise)} */
    protected final boolean busMasterEnabled() {
        return attached().busMasterEnabled();
    }

    private MockFunction attached() {
        MockFunction f = function;
        if (freed) {
            throw new IllegalStateException(identity() + " was removed from " + f.address()
                    + " and its BAR memory freed");
        }
        if (f == null) {
            throw new IllegalStateException(getClass().getSimpleName() + " is not attached to a mock bus");
        }
        return f;
    }

    /**
     * Makes progress on whatever the driver asked for since the last call.
     *
     * @return whether anything happened (an idle device returns false and its thread backs off)
     */
    protected abstract boolean process();

    /** Function-level reset: return every register and internal state to power-on values. */
    protected abstract void reset();

    /**
     * Runs {@link #process()} once, in stepped mode.
     *
     * @return whether anything happened
     * @throws IllegalStateException if the model runs on its own thread
     */
    public final boolean step() {
        if (thread != null) {
            throw new IllegalStateException("step() on a model that runs on its own thread");
        }
        attached();
        state.lock();
        try {
            return process();
        } finally {
            state.unlock();
        }
    }

    /**
     * Steps until a step does nothing, at most {@code maxSteps} times.
     *
     * @return the steps that did something
     */
    public final int stepUntilIdle(int maxSteps) {
        int n = 0;
        while (n < maxSteps && step()) {
            n++;
        }
        return n;
    }

    /**
     * How long the device thread sleeps when idle after spinning (default 20 µs). Lower it for latency benchmarks,
     * raise it to save CPU.
     */
    public final void idleParkNanos(long nanos) {
        this.idleParkNanos = Math.max(0, nanos);
    }

    /** {@return whether the model runs on its own thread} */
    public final boolean isThreaded() {
        return thread != null;
    }

    // ---- Called by the mock bus ----

    /**
     * Puts the model in slot {@code f}. A model is attached once in its life: its BAR memory belongs to that one
     * slot and is freed when the slot is removed, so a second slot (or the same one after a removal) would hand its
     * driver a window over memory that is, or will be, freed under it.
     */
    final void attach(MockFunction f) {
        synchronized (lifecycle) {
            MockFunction current = function;
            if (freed) {
                throw new IllegalStateException(identity() + " was removed from " + current.address()
                        + " and its BAR memory freed; a removed model cannot be added again: create a new one");
            }
            if (current != null) {
                throw new IllegalStateException(identity() + " is already attached at " + current.address()
                        + "; a model can be in one slot only: create one model per device");
            }
            this.function = f;
        }
    }

    /** {@return the model's class and identity, for messages} */
    private String identity() {
        return getClass().getSimpleName() + "@" + Integer.toHexString(System.identityHashCode(this));
    }

    final void start(String name) {
        running = true;
        Thread t = Thread.ofPlatform().daemon().name("ferrum-mock-" + name).unstarted(this::run);
        LiveResources.thread(t, "device model " + getClass().getSimpleName());
        thread = t;
        t.start();
    }

    private void run() {
        int idle = 0;
        while (running) {
            boolean did;
            state.lock();
            try {
                did = process();
            } catch (RuntimeException | Error e) {
                LOG.error("{}: device model failed in process(); it keeps running", getClass().getSimpleName(), e);
                did = false;
            } finally {
                state.unlock();
            }
            if (did) {
                idle = 0;
            } else if (++idle < SPINS) {
                Thread.onSpinWait();
            } else if (idle < SPINS + YIELDS) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(this, idleParkNanos);
            }
        }
    }

    final void resetNow() {
        state.lock();
        try {
            reset();
        } finally {
            state.unlock();
        }
    }

    final void stop() {
        running = false;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
            boolean interrupted = false;
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Frees the BAR memory; the bus calls this only after every driver view is revoked. */
    final void free() {
        synchronized (lifecycle) {
            if (freed) {
                return;
            }
            stop(); // first: the model's own thread may still be using the memory (and its function)
            freed = true;
            memory.close();
            memoryRegistration.close();
        }
    }
}
