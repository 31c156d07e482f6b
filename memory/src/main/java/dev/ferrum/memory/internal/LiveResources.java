package dev.ferrum.memory.internal;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What Ferrum holds right now, JVM-wide: DMA buffers, IOVA mappings, arenas owned by Ferrum objects and Ferrum's
 * own threads. The library registers each such resource when it acquires it and closes the registration when it
 * releases it; tests read {@link #snapshot()} to fail any test that leaves something behind (the leak check in
 * {@code ferrum-test-support} reads it reflectively).
 *
 * <p>Registering happens where resources are acquired (buffer allocation, mapping, BAR mapping, thread start):
 * never on a hot path. A DMA buffer's arena is counted as the buffer, not twice.
 *
 * <p>Invariants: a registration is live from {@link #open} until its first {@link Registration#close()}; a
 * registered thread counts until it has terminated.
 *
 * <p>Thread-safe.
 */
public final class LiveResources {
    private LiveResources() {}

    /** What kind of resource a registration stands for. Invariants: a constant with a fixed label. */
    public enum Kind {
        /** A {@code DmaBuffer} (and its arena). */
        DMA_BUFFER("DMA buffer"),
        /** A device address mapping: mock IOMMU, VFIO type1 or no-IOMMU. */
        IOVA_MAPPING("IOVA mapping"),
        /** An arena owned by a Ferrum object: a BAR view, a device model's memory. */
        ARENA("arena");

        private final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /**
     * One live resource; closing it records the release.
     *
     * <p>Invariants: its id is unique in the JVM; it is listed in {@link #snapshot()} until the first
     * {@link #close()}, never after. Thread-safe.
     */
    public static final class Registration implements AutoCloseable {
        private final long id;

        private Registration(long id) {
            this.id = id;
        }

        /** Records the release. Idempotent. */
        @Override
        public void close() {
            LIVE.remove(id);
        }
    }

    private static final AtomicLong IDS = new AtomicLong();
    private static final Map<Long, String> LIVE = new ConcurrentHashMap<>();
    private static final Map<Thread, String> THREADS = new ConcurrentHashMap<>();

    /** Registers a resource of {@code kind}; {@code what} names it in leak reports. */
    public static Registration open(Kind kind, String what) {
        long id = IDS.incrementAndGet();
        LIVE.put(id, kind.label + ": " + what);
        return new Registration(id);
    }

    /**
     * Registers a Ferrum thread (platform or virtual): it counts as live until it has terminated. Call before
     * starting it.
     */
    public static void thread(Thread thread, String what) {
        THREADS.put(thread, what);
    }

    /**
     * {@return every live resource: a key unique to it (stable while it lives) mapped to its description}
     * Threads that have terminated are forgotten here.
     */
    public static Map<String, String> snapshot() {
        Map<String, String> all = new TreeMap<>();
        LIVE.forEach((id, what) -> all.put("resource " + id, what));
        THREADS.entrySet().removeIf(e -> e.getKey().getState() == Thread.State.TERMINATED);
        THREADS.forEach((t, what) -> all.put("thread " + t.threadId(), "thread " + t.getName() + " (" + what + ", "
                + t.getState() + ")"));
        return all;
    }
}
