package dev.ferrum.driver.sync;

import java.util.List;

/**
 * The switch of the optional lock-order checker (the kernel's lockdep, reduced to lock ordering).
 *
 * <p>When enabled, every blocking acquisition of a {@link SpinLock} or {@link Mutex} while other locks are held
 * records "class B after class A" for each held class A (see {@link LockClass}). An acquisition that would invert a
 * recorded order, directly ({@code A -> B} recorded, now {@code A} while holding {@code B}) or through a chain
 * ({@code A -> B -> C} recorded, now {@code A} while holding {@code C}), throws {@link LockOrderViolation} <em>before</em>
 * the thread blocks, naming both classes and the acquisition sites of both orders. The inverted order does not have
 * to deadlock, or even overlap in time, to be reported: one run of each order, from any threads, at any time, is
 * enough.
 *
 * <p>Limits, as in lockdep: try-locks add no order (they cannot block), but locks taken while a try-lock is held are
 * ordered after it; two locks of the same class held together are not checked against each other (give them
 * different {@linkplain LockClass#named(String) named} classes if their order matters); condition-variable waits
 * release and re-acquire the lock and are checked like any acquisition.
 *
 * <p>Enabling: the checker exists only if the JVM starts with {@code -Dferrum.lockdep=true} (the root build sets
 * it for every test). Without it, the hooks in the lock hot path are a branch on a {@code static final} boolean
 * that the JIT folds away, and {@link #setEnabled(boolean) setEnabled(true)} throws. With it, the checker starts
 * enabled and can be switched off and on at run time. When enabled, each acquisition walks the stack (a few
 * microseconds): it is a test and debugging tool.
 *
 * <p>Invariants: {@code isEnabled()} implies {@code isAvailable()}; availability never changes after class
 * initialisation.
 */
public final class LockOrderChecker {

    /** The system property that makes the checker available (and initially enabled): {@value}. */
    public static final String PROPERTY = "ferrum.lockdep";

    private LockOrderChecker() {
    }

    /** @return true if the JVM started with {@code -Dferrum.lockdep=true} */
    public static boolean isAvailable() {
        return LockDep.AVAILABLE;
    }

    /** @return true if acquisitions are being checked now */
    public static boolean isEnabled() {
        return LockDep.isEnabled();
    }

    /**
     * Switches the checker on or off for all threads. Locks held while it is switched off are not known to it.
     *
     * @param on whether to check
     * @throws IllegalStateException if {@code on} and the checker is not {@linkplain #isAvailable() available}
     */
    public static void setEnabled(boolean on) {
        LockDep.setEnabled(on);
    }

    /**
     * @return the classes of the locks the current thread holds, outermost first, as the checker recorded them;
     *         empty when the checker is off
     */
    public static List<LockClass> heldByCurrentThread() {
        return isEnabled() ? LockDep.heldClasses() : List.of();
    }
}
