package dev.ferrum.bench.internal;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import sun.misc.Unsafe;

/**
 * The raw-pointer baseline: memory access by absolute address with no bounds, lifetime or thread checks, through
 * {@code sun.misc.Unsafe} and through an "everything" segment ({@code MemorySegment.NULL} reinterpreted to
 * {@code Long.MAX_VALUE} bytes, which also has no lifetime: its scope is the global one).
 *
 * <p>This is the benchmark module's documented exception to the raw-memory quarantine: the baseline has to be
 * unchecked to show what the checks cost. Every caller passes an address inside memory it allocated itself and
 * keeps alive for the whole benchmark trial, and says so in a {@code // SAFETY:} comment.
 *
 * <p>Ordering vocabulary, matching {@link dev.ferrum.memory.Mmio} so that a pair does the same work:
 * <ul>
 *   <li>acquire read: {@code getInt} then {@code loadFence()} (on x86-64: a plain {@code mov});</li>
 *   <li>release write: {@code putOrderedInt}/{@code putOrderedLong} (the old name of a release store; on x86-64 a
 *       plain {@code mov});</li>
 *   <li>relaxed ("opaque") read: {@code getIntVolatile}. {@code sun.misc.Unsafe} has no opaque access; on x86-64 a
 *       volatile load is the same plain {@code mov} as an opaque one, and unlike a plain {@code getInt} it cannot
 *       be hoisted out of a polling loop, which is what MMIO (C's {@code readl_relaxed}, a volatile load)
 *       needs;</li>
 *   <li>relaxed write: {@code putOrderedInt}, for the same reason (a plain store could be sunk out of a loop; a
 *       release store is the same {@code mov} on x86-64).</li>
 * </ul>
 *
 * <p>Invariants: none beyond the callers' (this class checks nothing, by design).
 */
@SuppressWarnings("removal") // sun.misc.Unsafe memory access is deprecated for removal (JEP 471): it is the baseline
public final class Raw {
    private Raw() {}

    // SAFETY: the baselines' one Unsafe; every access through it is by absolute address, justified at each accessor.
    static final Unsafe U;

    static {
        if (java.nio.ByteOrder.nativeOrder() != java.nio.ByteOrder.LITTLE_ENDIAN) {
            // Device memory is little endian; the Unsafe baseline stores in native order.
            throw new ExceptionInInitializerError("the raw baseline assumes a little-endian CPU");
        }
        try {
            // SAFETY: only obtains the instance (JEP 471 keeps theUnsafe reachable by reflection); no access yet.
            Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            U = (Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Every address as one segment. Accesses through it are bounds-checked against {@code Long.MAX_VALUE} only and
     * never fail a liveness check (global scope): the "raw FFM" baseline.
     */
    // SAFETY: the segment is only accessed at addresses of live memory the benchmark allocated (see each caller).
    public static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    // The accessors below: the caller guarantees that [address, address + width) is live, allocated memory it
    // owns for the duration of the call, and says why at the call site.

    public static int getInt(long address) {
        // SAFETY: the caller's live address (see above); no check, by design.
        return U.getInt(address);
    }

    public static int getIntAcquire(long address) {
        // SAFETY: the caller's live address (see above); no check, by design.
        int v = U.getInt(address);
        U.loadFence();
        return v;
    }

    public static int getIntRelaxed(long address) {
        // SAFETY: the caller's live address (see above); no check, by design.
        return U.getIntVolatile(null, address);
    }

    public static long getLongAcquire(long address) {
        // SAFETY: the caller's live address (see above); no check, by design.
        long v = U.getLong(address);
        U.loadFence();
        return v;
    }

    public static void putInt(long address, int value) {
        // SAFETY: the caller's live address (see above); no check, by design.
        U.putInt(address, value);
    }

    public static void putLong(long address, long value) {
        // SAFETY: the caller's live address (see above); no check, by design.
        U.putLong(address, value);
    }

    public static void putIntRelease(long address, int value) {
        // SAFETY: the caller's live address (see above); no check, by design.
        U.putOrderedInt(null, address, value);
    }

    public static void putLongRelease(long address, long value) {
        // SAFETY: the caller's live address (see above); no check, by design.
        U.putOrderedLong(null, address, value);
    }

    /** A relaxed write; see the class comment for why it is a release store here. */
    public static void putIntRelaxed(long address, int value) {
        // SAFETY: the caller's live address (see above); no check, by design.
        U.putOrderedInt(null, address, value);
    }
}
