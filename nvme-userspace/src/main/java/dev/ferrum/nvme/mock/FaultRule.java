package dev.ferrum.nvme.mock;

import dev.ferrum.nvme.NvmeStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * One fault injected into a {@link MockNvmeController}: which commands it applies to (a predicate on
 * {@link CommandView}), what it does to them, and how many more times it applies. Returned by the controller's
 * injection methods; tests use it to see how often the fault fired and to cancel it.
 *
 * <p>Invariants: {@link #hits()} counts the commands the rule was applied to; a rule applies at most
 * {@code count} times (unless {@link #UNLIMITED}) and never after {@link #cancel()}. A predicate that throws is
 * logged and counts as no match.
 *
 * <p>Thread-safe: rules are created and cancelled on test threads and applied on the controller's thread.
 */
public final class FaultRule {
    private static final Logger LOG = LoggerFactory.getLogger(FaultRule.class);

    /** A count meaning the rule applies to every matching command until cancelled. */
    public static final int UNLIMITED = -1;

    /** What the rule does to a matching command. */
    enum Action {
        /** Complete without executing, with a chosen status. */
        STATUS,
        /** Never complete (unless aborted, its SQ deleted, or the controller reset). */
        DROP,
        /** Execute and complete only after a delay. */
        DELAY,
        /** Execute, then post a corrupted completion entry. */
        CORRUPT
    }

    private final Predicate<? super CommandView> match;
    private final Action action;
    private final int status;
    private final long delayNanos;
    private final CompletionCorruption corruption;
    private final AtomicInteger remaining;
    private final AtomicInteger hits = new AtomicInteger();
    private final String description;
    private volatile boolean cancelled;

    private FaultRule(Predicate<? super CommandView> match, Action action, int status, long delayNanos,
                      CompletionCorruption corruption, int count, String description) {
        this.match = Objects.requireNonNull(match, "match");
        if (count < 1 && count != UNLIMITED) {
            throw new IllegalArgumentException("fault count must be >= 1 or FaultRule.UNLIMITED, was " + count);
        }
        this.action = action;
        this.status = status;
        this.delayNanos = delayNanos;
        this.corruption = corruption;
        this.remaining = new AtomicInteger(count);
        this.description = description;
    }

    static FaultRule status(Predicate<? super CommandView> match, int sct, int sc, boolean dnr, int count) {
        if (sct < 0 || sct > 7 || sc < 0 || sc > 255 || (sct == 0 && sc == 0)) {
            throw new IllegalArgumentException("injected status SCT " + sct + " SC 0x" + Integer.toHexString(sc)
                    + " is not an error status (SCT 0..7, SC 0..255, not success)");
        }
        NvmeStatus named = NvmeStatus.of(sct, sc);
        return new FaultRule(match, Action.STATUS, Status.of(sct, sc, dnr), 0, null, count,
                "status " + (named == NvmeStatus.UNKNOWN ? "SCT " + sct + " SC 0x" + Integer.toHexString(sc) : named)
                        + (dnr ? " (DNR)" : ""));
    }

    static FaultRule drop(Predicate<? super CommandView> match, int count) {
        return new FaultRule(match, Action.DROP, 0, 0, null, count, "drop");
    }

    static FaultRule delay(Predicate<? super CommandView> match, long nanos, int count) {
        if (nanos < 0) {
            throw new IllegalArgumentException("completion delay must not be negative, was " + nanos + " ns");
        }
        return new FaultRule(match, Action.DELAY, 0, nanos, null, count, "delay " + nanos + " ns");
    }

    static FaultRule corrupt(Predicate<? super CommandView> match, CompletionCorruption kind, int count) {
        return new FaultRule(match, Action.CORRUPT, 0, 0, Objects.requireNonNull(kind, "kind"), count,
                "corrupt " + kind);
    }

    Action action() {
        return action;
    }

    int injectedStatus() {
        return status;
    }

    long delayNanos() {
        return delayNanos;
    }

    CompletionCorruption corruption() {
        return corruption;
    }

    /** {@return whether the rule may still apply (not cancelled, count not used up)} */
    public boolean isActive() {
        return !cancelled && remaining.get() != 0;
    }

    /** Applies the rule to {@code c} if it matches and is active; {@return whether it applies} */
    boolean tryApply(CommandView c) {
        if (!isActive()) {
            return false;
        }
        boolean matches;
        try {
            matches = match.test(c);
        } catch (RuntimeException e) {
            LOG.error("fault rule '{}': predicate threw on {}; treated as no match", description, c, e);
            return false;
        }
        if (!matches) {
            return false;
        }
        while (true) {
            int r = remaining.get();
            if (r == 0 || cancelled) {
                return false;
            }
            if (r == UNLIMITED || remaining.compareAndSet(r, r - 1)) {
                hits.incrementAndGet();
                return true;
            }
        }
    }

    /** {@return how many commands the rule has been applied to} */
    public int hits() {
        return hits.get();
    }

    /** {@return how many more commands the rule applies to, or {@link #UNLIMITED}} */
    public int remaining() {
        return remaining.get();
    }

    /** Stops the rule: it applies to no further command. Commands it already holds stay held. */
    public void cancel() {
        cancelled = true;
    }

    @Override
    public String toString() {
        int r = remaining.get();
        return "FaultRule[" + description + ", hits " + hits.get() + ", remaining "
                + (r == UNLIMITED ? "unlimited" : r) + (cancelled ? ", cancelled" : "") + "]";
    }
}
