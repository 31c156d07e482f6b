package dev.ferrum.memory.internal;

import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Page-granular anonymous memory for DMA: {@code mmap} (optionally {@code MAP_HUGETLB}), pre-faulted, excluded
 * from {@code fork} children, optionally {@code mlock}ed, and handed out as a {@link MemorySegment} whose lifetime
 * is an {@link Arena}: closing the arena unlocks and unmaps it exactly once.
 *
 * <p>This is one of the few places where Ferrum turns a raw address into a segment.
 *
 * <p>Invariants: a returned segment covers exactly the mapping, is page aligned and a whole number of pages long,
 * and is marked {@code MADV_DONTFORK}; it is unlocked (if it was locked) and unmapped exactly once, when its arena
 * closes; a failed {@link #map} leaves nothing mapped. Stateless and thread-safe.
 */
public final class PageMemory {
    /** Size of an x86-64 huge page, the only huge page size Ferrum asks for. */
    public static final long HUGE_PAGE_SIZE = 2L << 20;

    private PageMemory() {}

    /**
     * Whether {@link #map} should lock the memory, and what to do if it cannot: {@code REQUIRE} fails,
     * {@code BEST_EFFORT} returns it unlocked, {@code NONE} does not try. Invariants: a constant.
     */
    public enum Lock { REQUIRE, BEST_EFFORT, NONE }

    /**
     * Maps {@code size} bytes (a multiple of the page size in use) and binds them to {@code arena}.
     *
     * @param huge use 2 MiB huge pages ({@code MAP_HUGETLB}); fails with {@link SyscallException} (ENOMEM) when
     *             none are reserved
     * @return the segment, and whether the memory is locked
     */
    public static Mapped map(long size, boolean huge, Lock lock, Arena arena) {
        int flags = Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS | Syscalls.MAP_POPULATE
                | (huge ? Syscalls.MAP_HUGETLB : 0);
        long addr = Syscalls.mmap(size, Syscalls.PROT_READ | Syscalls.PROT_WRITE, flags, -1, 0,
                huge ? "anonymous, MAP_HUGETLB" : "anonymous");
        boolean locked = false;
        try {
            // A forked child must not share DMA pages copy-on-write with the parent: the device would keep writing
            // into the parent's pages while either process could see stale copies.
            Syscalls.madvise(addr, size, Syscalls.MADV_DONTFORK);
            if (lock != Lock.NONE) {
                try {
                    Syscalls.mlock(addr, size);
                    locked = true;
                } catch (SyscallException e) {
                    if (lock == Lock.REQUIRE) {
                        throw memlockFailure(size, e);
                    }
                }
            }
        } catch (RuntimeException e) {
            Syscalls.munmap(addr, size);
            throw e;
        }
        final boolean unlock = locked;
        // SAFETY: [addr, addr + size) is a fresh private anonymous mapping that nothing else references. The
        // segment is its only handle; the cleanup runs exactly once, when the arena closes, and for a shared
        // arena only after no thread can still be accessing the segment, so the memory is never used unmapped.
        MemorySegment segment = MemorySegment.ofAddress(addr).reinterpret(size, arena, s -> {
            if (unlock) {
                Syscalls.munlock(addr, size);
            }
            Syscalls.munmap(addr, size);
        });
        return new Mapped(segment, locked);
    }

    /**
     * A mapped region and whether it is locked in RAM.
     *
     * @param segment the memory, owned by the arena given to {@link #map}
     * @param locked  whether {@code mlock} succeeded for all of it
     */
    public record Mapped(MemorySegment segment, boolean locked) {
        // Invariants: immutable; locked is true only if the whole segment is locked in RAM.
    }

    /** Explains an {@code mlock} failure with the fix: the memlock limit. */
    public static LockFailedException memlockFailure(long size, SyscallException e) {
        return new LockFailedException(size, e);
    }

    /**
     * {@code mlock} failed for memory that had to be locked ({@link Lock#REQUIRE}); the message explains
     * {@code RLIMIT_MEMLOCK} and how to raise it. A type of its own so that {@code DmaPool} can let the address
     * space classify the failure ({@code DeviceAddressSpace.memoryLockFailed}).
     *
     * <p>Invariants: the cause is the failed {@code mlock}'s {@link SyscallException}; the size is positive.
     */
    public static final class LockFailedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        private final long size;

        LockFailedException(long size, SyscallException e) {
            super(memlockMessage(size, Syscalls.getrlimit(Syscalls.RLIMIT_MEMLOCK)[0], e), e);
            this.size = size;
        }

        /** {@return the bytes that could not be locked} */
        public long size() {
            return size;
        }

        /** {@return the failed {@code mlock}} */
        public SyscallException syscallFailure() {
            return (SyscallException) getCause();
        }
    }

    /**
     * {@return what an {@code mlock} failure of {@code size} bytes means, and the fix}
     *
     * @param softLimit the soft {@code RLIMIT_MEMLOCK} in bytes, {@link Syscalls#RLIM_INFINITY} for unlimited
     */
    static String memlockMessage(long size, long softLimit, SyscallException e) {
        String what = "cannot lock " + (size >> 10) + " KiB of DMA memory in RAM (" + e.getMessage() + ")";
        if (e.errno() != Errno.ENOMEM && e.errno() != Errno.EPERM && e.errno() != Errno.EAGAIN) {
            return what;
        }
        if (softLimit == Syscalls.RLIM_INFINITY) {
            return what + ": RLIMIT_MEMLOCK is unlimited, so the system is out of memory it can lock";
        }
        return what + ": RLIMIT_MEMLOCK is " + (softLimit >> 10) + " KiB, and it counts all the memory this process "
                + "has locked, the DMA buffers allocated before included. Raise it: `ulimit -l unlimited` in the "
                + "shell that starts the JVM (a user may go up to the hard limit, `ulimit -H -l`), a `memlock` line "
                + "in /etc/security/limits.conf (e.g. `youruser - memlock unlimited`, effective at the next login), "
                + "or LimitMEMLOCK=infinity for a systemd service; a process with CAP_IPC_LOCK (root) is not "
                + "limited. Under VFIO the memory pinned for the device counts as well: allow about twice the DMA "
                + "memory in use (Ferrum's docs/vfio-box.md, \"Locked memory\")";
    }

    /**
     * Probes whether one huge page can be mapped right now.
     *
     * @return {@code null} if it can, else the reason it cannot
     */
    public static String hugePagesUnavailableReason() {
        try (Arena probe = Arena.ofConfined()) {
            map(HUGE_PAGE_SIZE, true, Lock.NONE, probe);
            return null;
        } catch (SyscallException e) {
            return e.getMessage() + " (reserve huge pages: echo 512 > /proc/sys/vm/nr_hugepages)";
        }
    }
}
