package dev.ferrum.memory;

import dev.ferrum.memory.internal.LiveResources;
import dev.ferrum.memory.internal.PageMemory;
import dev.ferrum.sys.SyscallException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Allocates {@link DmaBuffer}s for one device address space: page-aligned, pre-faulted memory, 4 KiB pages or
 * 2 MiB huge pages, locked in RAM, each buffer mapped for the device while it lives.
 *
 * <p>Every buffer owns its own {@link Arena} (shared, or confined for {@link #allocateConfined}), so that a
 * buffer's lifetime, use-after-free detection and unmapping are per buffer. Allocation therefore costs a few
 * system calls: allocate buffers up front (queues, I/O buffers) and reuse them; hot paths never allocate.
 *
 * <p>Huge pages: with {@link HugePages#PREFER} the pool probes once whether a huge page can be mapped; if not, it
 * logs why and uses 4 KiB pages (and also falls back, with a warning, when huge pages run out later). With
 * {@link HugePages#REQUIRE} it fails instead. Sizes are rounded up to the page size in use.
 *
 * <p>Invariants: every live buffer of the pool is in {@link #liveBuffers()}; a buffer is unmapped from the address
 * space before its memory is freed; after {@link #close()} the pool allocates nothing more.
 *
 * <p>Thread-safe.
 */
public final class DmaPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DmaPool.class);
    private static final AtomicLong LIVE_BUFFERS = new AtomicLong();
    private static final AtomicLong LIVE_BYTES = new AtomicLong();

    /** Whether to back buffers with 2 MiB huge pages. Invariants: a constant; the pool applies it as documented. */
    public enum HugePages {
        /** 4 KiB pages only. */
        NEVER,
        /** Huge pages when the system has them reserved, else 4 KiB pages (logged). */
        PREFER,
        /** Huge pages or an error. */
        REQUIRE
    }

    /** Whether the memory must be locked in RAM ({@code mlock}). Invariants: a constant. */
    public enum MemoryLock {
        /** Fail allocation (naming RLIMIT_MEMLOCK and how to raise it) if the memory cannot be locked. */
        REQUIRE,
        /** Lock when possible; log once otherwise. For memory no real device reads (mock devices, tests). */
        BEST_EFFORT
    }

    /**
     * Where a pool's memory comes from: {@link PageMemory} ({@link #SYSTEM}), or in tests a stand-in that runs out
     * of huge pages on cue, so the fallback paths can be exercised on machines with or without huge pages.
     */
    interface PageSource {
        /** {@link PageMemory}. */
        PageSource SYSTEM = new PageSource() {
            @Override
            public String hugePagesUnavailableReason() {
                return PageMemory.hugePagesUnavailableReason();
            }

            @Override
            public PageMemory.Mapped map(long size, boolean huge, PageMemory.Lock lock, Arena arena) {
                return PageMemory.map(size, huge, lock, arena);
            }
        };

        /** As {@link PageMemory#hugePagesUnavailableReason()}. */
        String hugePagesUnavailableReason();

        /** As {@link PageMemory#map}; throws {@link SyscallException} when the pages cannot be had. */
        PageMemory.Mapped map(long size, boolean huge, PageMemory.Lock lock, Arena arena);
    }

    private final String name;
    private final DeviceAddressSpace addressSpace;
    private final PageSource pages;
    private final HugePages hugePagePolicy;
    private final PageMemory.Lock lock;
    private final long pageSize;
    /** Live buffers, each with its entry in the JVM-wide leak registry. */
    private final Map<DmaBuffer, LiveResources.Registration> live = new ConcurrentHashMap<>();
    /** Closed buffers whose memory is kept because unmapping them failed; {@link #close()} tries again. */
    private final Set<DmaBuffer> kept = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile boolean warnedHugeFallback;
    private volatile boolean warnedUnlocked;

    private DmaPool(Builder b) {
        this.name = b.name;
        this.addressSpace = b.addressSpace;
        this.pages = b.pages;
        HugePages policy = b.hugePages;
        if (addressSpace.requiresHugePages()) {
            if (policy == HugePages.NEVER) {
                throw new IllegalArgumentException("DMA pool '" + name + "' uses 4 KiB pages, but "
                        + addressSpace.describe() + " needs 2 MiB huge pages (the device sees physical addresses: only "
                        + "huge pages are contiguous and never move); build the pool with HugePages.REQUIRE");
            }
            policy = HugePages.REQUIRE; // PREFER must not fall back to small pages here
        }
        this.hugePagePolicy = policy;
        this.lock = b.memoryLock == MemoryLock.REQUIRE ? PageMemory.Lock.REQUIRE : PageMemory.Lock.BEST_EFFORT;
        boolean huge = false;
        if (policy != HugePages.NEVER) {
            String why = pages.hugePagesUnavailableReason();
            if (why == null) {
                huge = true;
            } else if (policy == HugePages.REQUIRE) {
                throw new IllegalStateException("DMA pool '" + name + "' requires 2 MiB huge pages, but none can be "
                        + "mapped: " + why);
            } else {
                LOG.info("DMA pool '{}': huge pages unavailable, using 4 KiB pages: {}", name, why);
            }
        }
        this.pageSize = huge ? PageMemory.HUGE_PAGE_SIZE : Math.max(4096, addressSpace.pageSize());
        LOG.debug("DMA pool '{}' over {}: {} KiB pages", name, addressSpace.describe(), pageSize >> 10);
    }

    /** {@return a builder of a pool mapping into {@code addressSpace}} */
    public static Builder builder(DeviceAddressSpace addressSpace) {
        return new Builder(Objects.requireNonNull(addressSpace, "addressSpace"));
    }

    /** {@return a pool with 4 KiB pages and required memory locking} */
    public static DmaPool create(DeviceAddressSpace addressSpace) {
        return builder(addressSpace).build();
    }

    /**
     * Allocates a buffer that any thread may access.
     *
     * @param bytes the size; rounded up to the {@link #pageSize() page size}
     * @throws IllegalArgumentException if {@code bytes} is not positive
     * @throws IllegalStateException    if the pool is closed, memory cannot be locked (the message says how to
     *                                  raise RLIMIT_MEMLOCK; the address space may classify this failure in an
     *                                  exception of its own: {@link DeviceAddressSpace#memoryLockFailed}), or the
     *                                  device address space is exhausted
     */
    public DmaBuffer allocate(long bytes) {
        return allocate(bytes, Arena.ofShared());
    }

    /**
     * Allocates a buffer that only the calling thread may access from the CPU, and only it may close (other
     * threads get {@link WrongThreadException}). The device's own access is not restricted.
     */
    public DmaBuffer allocateConfined(long bytes) {
        return allocate(bytes, Arena.ofConfined());
    }

    private DmaBuffer allocate(long bytes, Arena arena) {
        if (bytes <= 0) {
            arena.close();
            throw new IllegalArgumentException("DMA buffer size must be positive, was " + bytes);
        }
        if (closed) {
            arena.close();
            throw new IllegalStateException("DMA pool '" + name + "' is closed");
        }
        long page = pageSize;
        boolean huge = page == PageMemory.HUGE_PAGE_SIZE;
        MemorySegment segment;
        try {
            segment = map(roundUp(bytes, page), huge, arena);
        } catch (SyscallException e) {
            if (!huge || hugePagePolicy == HugePages.REQUIRE) {
                arena.close();
                throw e;
            }
            if (!warnedHugeFallback) {
                warnedHugeFallback = true;
                LOG.warn("DMA pool '{}': out of huge pages ({}), falling back to 4 KiB pages", name, e.getMessage());
            }
            page = 4096;
            try {
                segment = map(roundUp(bytes, page), false, arena);
            } catch (RuntimeException e2) {
                arena.close();
                throw e2;
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        long iova;
        try {
            iova = addressSpace.map(segment);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        DmaBuffer buffer = new DmaBuffer(this, arena, segment, iova, page);
        live.put(buffer, LiveResources.open(LiveResources.Kind.DMA_BUFFER, buffer.toString()));
        LIVE_BUFFERS.incrementAndGet();
        LIVE_BYTES.addAndGet(segment.byteSize());
        return buffer;
    }

    private MemorySegment map(long size, boolean huge, Arena arena) {
        PageMemory.Mapped m;
        try {
            m = pages.map(size, huge, lock, arena);
        } catch (PageMemory.LockFailedException e) {
            // The address space says what the limit means for its users (VFIO: a VfioException).
            throw addressSpace.memoryLockFailed(e.size(), e.syscallFailure(), e);
        }
        if (!m.locked() && lock != PageMemory.Lock.NONE && !warnedUnlocked) {
            warnedUnlocked = true;
            LOG.warn("DMA pool '{}': memory could not be locked (RLIMIT_MEMLOCK); continuing unlocked", name);
        }
        return m.segment();
    }

    private static long roundUp(long bytes, long page) {
        long r = (bytes + page - 1) & -page;
        if (r < bytes) {
            throw new IllegalArgumentException("DMA buffer size " + bytes + " is too large");
        }
        return r;
    }

    /** Called by {@link DmaBuffer#close()} after it moved to the closed state. */
    void release(DmaBuffer buffer, Arena arena) {
        long size = buffer.byteSize();
        try {
            addressSpace.unmap(buffer.mappedDeviceAddress(), size);
        } catch (RuntimeException e) {
            // The device might still reach the memory: freeing it would let the device write into whatever reuses
            // it. Keep it allocated (a leak, counted as live) and say so.
            kept.add(buffer);
            throw new IllegalStateException("could not unmap " + buffer + " from " + addressSpace.describe()
                    + "; its memory is kept allocated so the device cannot write into reused memory", e);
        }
        // Unmapped first: once the arena closes the memory may be reused, and the device must not reach it.
        arena.close();
        LiveResources.Registration r = live.remove(buffer);
        if (r != null) {
            r.close();
        }
        LIVE_BUFFERS.decrementAndGet();
        LIVE_BYTES.addAndGet(-size);
    }

    /** {@return the pool's name, used in messages} */
    public String name() {
        return name;
    }

    /** {@return the page size buffers are rounded to: 4096, or 2 MiB with huge pages} */
    public long pageSize() {
        return pageSize;
    }

    /** {@return whether the pool allocates from 2 MiB huge pages} */
    public boolean usesHugePages() {
        return pageSize == PageMemory.HUGE_PAGE_SIZE;
    }

    /** {@return the device address space buffers are mapped into} */
    public DeviceAddressSpace addressSpace() {
        return addressSpace;
    }

    /** {@return the number of buffers of this pool that are alive} */
    public int liveBuffers() {
        return live.size();
    }

    /** {@return the number of live DMA buffers of all pools in this JVM (for leak checks)} */
    public static long liveBuffersGlobally() {
        return LIVE_BUFFERS.get();
    }

    /** {@return the bytes held by live DMA buffers of all pools in this JVM (for leak checks)} */
    public static long liveBytesGlobally() {
        return LIVE_BYTES.get();
    }

    /**
     * Closes the pool: no more allocations, and every buffer still alive is closed. Buffers whose memory was kept
     * because unmapping them failed earlier are unmapped again now, and freed if that succeeds.
     *
     * @throws IllegalStateException if some buffers could not be freed (pinned by in-flight device operations, or
     *                               confined to another thread); those stay allocated and are named in the message
     */
    @Override
    public void close() {
        closed = true;
        List<String> failures = new ArrayList<>();
        for (DmaBuffer b : List.copyOf(live.keySet())) {
            try {
                if (b.isAlive()) {
                    b.close();
                } else if (kept.remove(b)) {
                    b.retryRelease(); // closed, but kept because its unmap failed: exactly one thread retries it
                }
            } catch (IllegalStateException | WrongThreadException e) {
                if (live.containsKey(b)) {
                    failures.add(e.getMessage());
                }
            }
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("DMA pool '" + name + "' closed with " + failures.size()
                    + " buffer(s) still allocated: " + String.join("; ", failures));
        }
    }

    @Override
    public String toString() {
        return "DmaPool['" + name + "', " + (pageSize >> 10) + " KiB pages, " + live.size() + " live buffers, "
                + addressSpace.describe() + "]";
    }

    /**
     * Configures a {@link DmaPool}. Defaults: name {@code "dma"}, {@link HugePages#NEVER},
     * {@link MemoryLock#REQUIRE}.
     *
     * <p>Invariants: the address space and every setting are non-null (setters refuse null); {@link #build()} does
     * not change the builder, so it may build several pools. Not thread-safe: configure it on one thread.
     */
    public static final class Builder {
        private final DeviceAddressSpace addressSpace;
        private String name = "dma";
        private HugePages hugePages = HugePages.NEVER;
        private MemoryLock memoryLock = MemoryLock.REQUIRE;
        private PageSource pages = PageSource.SYSTEM;

        private Builder(DeviceAddressSpace addressSpace) {
            this.addressSpace = addressSpace;
        }

        /** Names the pool in messages and logs. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Huge page policy; default {@link HugePages#NEVER}. */
        public Builder hugePages(HugePages policy) {
            this.hugePages = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Memory locking policy; default {@link MemoryLock#REQUIRE}. */
        public Builder memoryLock(MemoryLock policy) {
            this.memoryLock = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** For tests: where the memory comes from; default {@link PageSource#SYSTEM}. */
        Builder pageSource(PageSource source) {
            this.pages = Objects.requireNonNull(source, "source");
            return this;
        }

        /** {@return the pool} */
        public DmaPool build() {
            return new DmaPool(this);
        }
    }
}
