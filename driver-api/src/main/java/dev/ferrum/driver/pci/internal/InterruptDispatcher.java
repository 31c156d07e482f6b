package dev.ferrum.driver.pci.internal;

import dev.ferrum.memory.internal.LiveResources;
import dev.ferrum.sys.Syscalls;
import dev.ferrum.sys.linux.pollfd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The interrupt thread of one device: waits in {@code poll(2)} on one eventfd per MSI-X vector and hands each
 * count to the sink. The same code serves both backends: VFIO routes vectors to the eventfds with
 * {@code VFIO_DEVICE_SET_IRQS}; the mock backend's device models write to them. The VFIO backend also uses one for
 * the kernel's removal requests (one eventfd per function's request interrupt).
 *
 * <p>A platform thread, not a virtual one: it spends its life blocked in a system call, which would pin a carrier.
 *
 * <p>Invariants: the eventfds stay open until the thread has exited; each count read from an eventfd is passed to
 * the sink exactly once.
 */
public final class InterruptDispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InterruptDispatcher.class);

    /** Receives interrupts. */
    @FunctionalInterface
    public interface Sink {
        void deliver(int vector, long count);
    }

    private final int[] eventfds;
    private final int wakefd;
    private final Thread thread;
    private volatile boolean stopping;

    /** Creates {@code vectors} eventfds and starts the thread, for the MSI-X vectors of device {@code name}. */
    public InterruptDispatcher(String name, int vectors, Sink sink) {
        this("irq-" + name, "MSI-X dispatcher of " + name, vectors, sink);
    }

    /**
     * Creates {@code vectors} eventfds and starts the thread {@code "ferrum-" + threadName}, described to the leak
     * checker as {@code what}.
     */
    public InterruptDispatcher(String threadName, String what, int vectors, Sink sink) {
        eventfds = new int[vectors];
        int made = 0;
        try {
            for (; made < vectors; made++) {
                eventfds[made] = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
            }
            wakefd = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
        } catch (RuntimeException e) {
            for (int i = 0; i < made; i++) {
                Syscalls.close(eventfds[i]);
            }
            throw e;
        }
        thread = Thread.ofPlatform().daemon().name("ferrum-" + threadName).unstarted(() -> run(sink));
        thread.setPriority(Thread.MAX_PRIORITY);
        LiveResources.thread(thread, what);
        thread.start();
    }

    /** {@return the eventfd of each vector, to hand to the backend} */
    public int[] eventfds() {
        return eventfds.clone();
    }

    private void run(Sink sink) {
        int n = eventfds.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(pollfd.layout(), n + 1L);
            for (int i = 0; i <= n; i++) {
                MemorySegment p = fds.asSlice(i * pollfd.sizeof(), pollfd.layout());
                pollfd.fd(p, i < n ? eventfds[i] : wakefd);
                pollfd.events(p, (short) Syscalls.POLLIN);
            }
            MemorySegment counter = arena.allocate(ValueLayout.JAVA_LONG);
            while (!stopping) {
                if (Syscalls.poll(fds, n + 1L, -1) <= 0) {
                    continue; // EINTR
                }
                for (int i = 0; i < n; i++) {
                    // Offsets instead of slices: this loop runs per interrupt and must not allocate.
                    long revents = i * pollfd.sizeof() + pollfd.revents$offset();
                    if (fds.get(ValueLayout.JAVA_SHORT, revents) == 0) {
                        continue;
                    }
                    fds.set(ValueLayout.JAVA_SHORT, revents, (short) 0);
                    if (Syscalls.read(eventfds[i], counter, "MSI-X eventfd") == 8) {
                        sink.deliver(i, counter.get(ValueLayout.JAVA_LONG, 0));
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.error("interrupt thread {} failed; no more interrupts will be delivered", thread.getName(), e);
        }
    }

    /** Stops the thread, waits for it, and closes the eventfds. */
    @Override
    public void close() {
        stopping = true;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1);
            Syscalls.write(wakefd, one, "interrupt wake eventfd");
        }
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (int fd : eventfds) {
            Syscalls.close(fd);
        }
        Syscalls.close(wakefd);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
