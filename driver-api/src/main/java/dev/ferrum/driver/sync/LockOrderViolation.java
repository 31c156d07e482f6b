package dev.ferrum.driver.sync;

import java.io.Serial;
import java.util.List;

/**
 * Thrown by a lock acquisition that would invert a lock order recorded earlier (see {@link LockOrderChecker}).
 *
 * <p>It is thrown <em>before</em> the acquiring thread blocks, so the potential deadlock is reported instead of
 * happening. The lock was not acquired; the locks the thread already held are still held (the exception unwinds
 * through the caller's try-with-resources blocks, which release them as usual).
 *
 * <p>The message names the held class and the class being acquired, the acquisition sites of both (this thread's),
 * and every edge of the previously recorded opposite order with the sites where it was first seen.
 *
 * <p>Invariants: {@link #held()} and {@link #acquiring()} are different classes.
 */
public final class LockOrderViolation extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    private final transient LockClass held;
    private final transient LockClass acquiring;

    LockOrderViolation(LockClass held, LockDep.Site heldSite, LockClass acquiring, LockDep.Site acquiringSite,
                       List<LockDep.Edge> recorded) {
        super(message(held, heldSite, acquiring, acquiringSite, recorded));
        this.held = held;
        this.acquiring = acquiring;
    }

    /** @return the class of the lock that was held when the inverting acquisition was attempted */
    public LockClass held() {
        return held;
    }

    /** @return the class of the lock whose acquisition was refused */
    public LockClass acquiring() {
        return acquiring;
    }

    private static String message(LockClass held, LockDep.Site heldSite, LockClass acquiring,
                                  LockDep.Site acquiringSite, List<LockDep.Edge> recorded) {
        StringBuilder sb = new StringBuilder();
        sb.append("lock order inversion (possible deadlock): thread \"").append(acquiringSite.thread())
                .append("\" acquires '").append(acquiring.name()).append("' while holding '")
                .append(held.name()).append("'\n");
        sb.append("  '").append(held.name()).append("' was acquired:\n");
        heldSite.appendTo(sb, "    ");
        sb.append("  '").append(acquiring.name()).append("' is being acquired:\n");
        acquiringSite.appendTo(sb, "    ");
        sb.append("but the opposite order '").append(acquiring.name()).append("' -> '").append(held.name())
                .append("' was recorded before:\n");
        for (LockDep.Edge e : recorded) {
            sb.append("  '").append(e.to().name()).append("' acquired while holding '").append(e.from().name())
                    .append("', first in thread \"").append(e.toSite().thread()).append("\":\n");
            sb.append("    '").append(e.from().name()).append("' was acquired:\n");
            e.fromSite().appendTo(sb, "      ");
            sb.append("    '").append(e.to().name()).append("' was then acquired:\n");
            e.toSite().appendTo(sb, "      ");
        }
        return sb.toString();
    }
}
