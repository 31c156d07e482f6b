package dev.ferrum.driver.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reference count with the kernel's {@code refcount_t} semantics: it never wraps. Misuse (an increment past
 * {@link #MAX}, an increment of a count that already dropped to 0, a decrement below 0, a {@link #dec()} that
 * reaches 0) does not overflow or underflow: the count is set to {@link #SATURATED} and stays there, so the object
 * leaks instead of being freed while still in use. The first misuse of each refcount is reported once: a WARN log
 * line through SLF4J (with the stack of the offending call) and one increment of the process-wide
 * {@link #saturationEvents()} counter. Further operations on a saturated refcount keep it saturated; they return
 * as documented per method (a {@link #decAndTest()} never returns true again) and are not reported again.
 *
 * {@snippet class=dev.ferrum.example.javadoc.SyncExamplesTest region=refcount}
 *
 * <p><b>The saturation value.</b> {@link #SATURATED} is {@code Integer.MIN_VALUE / 2} = {@code 0xC0000000}
 * = -1073741824, the kernel's {@code REFCOUNT_SATURATED}. It is negative, so every operation recognises it as
 * "already broken", and it is 2<sup>30</sup> away from both 0 and the overflow point: racing increments and
 * decrements that slip in between detecting the misuse and storing the value cannot bring it back to a live count
 * or wrap it before one of them stores {@code SATURATED} again.
 *
 * <p><b>Memory ordering</b>, as in the kernel (Java has no relaxed read-modify-write, so some operations are
 * stronger than the kernel's; only what is listed is guaranteed):
 * <ul>
 *   <li>{@link #inc()}: atomic only; no ordering is promised (the caller already holds a reference).</li>
 *   <li>{@link #incNotZero()}: acquire on success: everything the caller does with the object afterwards is
 *       ordered after the increment (the kernel relies on a control dependency here, which Java does not
 *       define).</li>
 *   <li>{@link #decAndTest()} and {@link #dec()}: release: every access the caller made to the object before
 *       dropping its reference happens-before the decrement. When {@code decAndTest()} returns true it is followed
 *       by an acquire fence, so the thread that frees the object sees every other thread's accesses made before
 *       their decrements (the kernel's {@code smp_acquire__after_ctrl_dep()}).</li>
 *   <li>{@link #read()}: opaque: a current-enough value, no ordering.</li>
 * </ul>
 *
 * <p>Invariants: the count is in {@code [0, MAX]} while it has not been misused; once misused it is at or near
 * {@link #SATURATED} (negative) forever and {@link #saturation()} is non-null; {@link #saturationEvents()} counts
 * each saturated refcount once.
 */
public final class Refcount {

    /** The kernel's {@code REFCOUNT_SATURATED}: {@code Integer.MIN_VALUE / 2}, i.e. {@code 0xC0000000}. */
    public static final int SATURATED = Integer.MIN_VALUE / 2;

    /** The largest live count, the kernel's {@code REFCOUNT_MAX}: {@code Integer.MAX_VALUE}. */
    public static final int MAX = Integer.MAX_VALUE;

    /**
     * What kind of misuse saturated a refcount; the messages are the kernel's. Invariants: a constant with a fixed
     * message.
     */
    public enum Saturation {
        /** {@link #inc()} on {@link #MAX} or on a saturated count. */
        ADD_OVERFLOW("refcount_t: saturated; leaking memory"),
        /** {@link #incNotZero()} on {@link #MAX} or on a saturated count. */
        ADD_NOT_ZERO_OVERFLOW("refcount_t: saturated; leaking memory"),
        /** {@link #inc()} on 0: the object may already have been freed. */
        ADD_ON_ZERO("refcount_t: addition on 0; use-after-free"),
        /** {@link #decAndTest()} or {@link #dec()} on 0 or on a saturated count. */
        UNDERFLOW("refcount_t: underflow; use-after-free"),
        /** {@link #dec()} from 1 to 0: nobody will free the object. */
        DEC_HIT_ZERO("refcount_t: decrement hit 0; leaking memory");

        private final String message;

        Saturation(String message) {
            this.message = message;
        }

        /** @return the kernel's warning text for this misuse */
        public String message() {
            return message;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(Refcount.class);
    private static final LongAdder SATURATION_EVENTS = new LongAdder();
    private static final Saturation[] KINDS = Saturation.values();
    private static final VarHandle REFS = Handles.field(MethodHandles.lookup(), "refs", int.class);
    private static final VarHandle FIRST_MISUSE = Handles.field(MethodHandles.lookup(), "firstMisuse", int.class);

    /** The count. Accessed only through {@link #REFS}. */
    @SuppressWarnings("unused")
    private volatile int refs;

    /** 0 = never misused, else 1 + ordinal of the first {@link Saturation}. */
    @SuppressWarnings("unused")
    private volatile int firstMisuse;

    /**
     * @param initial the initial count: usually 1 (the creator's reference); 0 for an object that is not live yet
     * @throws IllegalArgumentException if {@code initial} is negative
     */
    public Refcount(int initial) {
        if (initial < 0) {
            throw new IllegalArgumentException("initial reference count " + initial + " is negative; it must be in"
                    + " [0, " + MAX + "]");
        }
        REFS.setVolatile(this, initial);
    }

    /**
     * Adds a reference. The caller must already hold one. On {@link #MAX}, on 0 or on a saturated count it
     * saturates instead (see the class comment). Atomic; no ordering promised.
     */
    public void inc() {
        int old = (int) REFS.getAndAdd(this, 1);
        if (old <= 0 || old == MAX) {
            saturate(old == 0 ? Saturation.ADD_ON_ZERO : Saturation.ADD_OVERFLOW);
        }
    }

    /**
     * Adds a reference unless the count is 0 (the object is being freed): the kernel's
     * {@code refcount_inc_not_zero}, for taking a reference to an object found through a lookup that does not own
     * one. On {@link #MAX} or a saturated count it saturates and returns true. Acquire ordering on success.
     *
     * @return true if a reference was taken, false if the count was 0 (then it is left at 0)
     */
    public boolean incNotZero() {
        int old = (int) REFS.getOpaque(this);
        for (;;) {
            if (old == 0) {
                return false;
            }
            int witness = (int) REFS.compareAndExchangeAcquire(this, old, old + 1);
            if (witness == old) {
                break;
            }
            old = witness;
        }
        if (old < 0 || old == MAX) {
            saturate(Saturation.ADD_NOT_ZERO_OVERFLOW);
        }
        return true;
    }

    /**
     * Drops a reference and reports whether it was the last one: the kernel's {@code refcount_dec_and_test}.
     * Exactly one of any number of racing calls that bring a live count to 0 returns true. Release ordering; acquire
     * as well when it returns true. Decrementing 0 or a saturated count saturates and returns false.
     *
     * @return true if the count reached 0: the caller must now free the object
     */
    public boolean decAndTest() {
        int old = (int) REFS.getAndAddRelease(this, -1);
        if (old == 1) {
            VarHandle.acquireFence(); // pairs with the release decrements of the other holders
            return true;
        }
        if (old <= 0) {
            saturate(Saturation.UNDERFLOW);
        }
        return false;
    }

    /**
     * Drops a reference that is known not to be the last: the kernel's {@code refcount_dec}. If it was the last
     * (the count would reach 0) nobody frees the object: that is a leak, so the count saturates and it is reported
     * ({@link Saturation#DEC_HIT_ZERO}); on 0 or a saturated count it saturates as an underflow. Release ordering.
     */
    public void dec() {
        int old = (int) REFS.getAndAddRelease(this, -1);
        if (old <= 1) {
            saturate(old == 1 ? Saturation.DEC_HIT_ZERO : Saturation.UNDERFLOW);
        }
    }

    /** @return the current count (opaque read: no ordering); {@link #SATURATED} or near it once saturated */
    public int read() {
        return (int) REFS.getOpaque(this);
    }

    /** @return true once this refcount has been misused and saturated */
    public boolean isSaturated() {
        return firstMisuse != 0;
    }

    /** @return the first misuse that saturated this refcount, or null if it never saturated */
    public Saturation saturation() {
        int k = firstMisuse;
        return k == 0 ? null : KINDS[k - 1];
    }

    /**
     * @return how many refcounts in this JVM have saturated so far (each counted once, when its first misuse was
     *         detected); for tests and health checks
     */
    public static long saturationEvents() {
        return SATURATION_EVENTS.sum();
    }

    private void saturate(Saturation kind) {
        REFS.setVolatile(this, SATURATED);
        if (FIRST_MISUSE.compareAndSet(this, 0, kind.ordinal() + 1)) {
            SATURATION_EVENTS.increment();
            LOG.warn("{} ({}): refcount {} saturated at {} and will stay there; the object it counts is leaked",
                    kind.message(), kind, Integer.toHexString(System.identityHashCode(this)), SATURATED,
                    new IllegalStateException("refcount misuse: " + kind));
        }
    }

    @Override
    public String toString() {
        Saturation s = saturation();
        return "Refcount[" + read() + (s == null ? "" : ", saturated by " + s) + "]";
    }
}
