package dev.ferrum.nvme.mock;

/**
 * Ways the {@link MockNvmeController} can corrupt a completion queue entry, to test that a driver validates what a
 * device writes (ARCHITECTURE.md rule 6). Injected with {@link MockNvmeController#corruptCompletions}.
 *
 * <p>Invariants: only the completion entry is corrupted; the command itself executes normally (its data is moved
 * and its counters count), and entries are still never written over ones the host has not released.
 */
public enum CompletionCorruption {
    /**
     * The entry carries a command identifier that is not outstanding on that submission queue (neither the command
     * itself nor one the controller holds). The real command's completion is never posted.
     */
    BAD_COMMAND_ID,
    /** The SQ head pointer field is out of range: the queue size (0xFFFF for a 65536-entry queue). */
    BAD_SQ_HEAD,
    /** The SQ identifier field is 0xFFFF, never a valid queue ID. */
    BAD_SQ_ID,
    /** The completion is posted twice: two consecutive entries with the same command identifier. */
    DUPLICATE,
    /**
     * The entry is written with its phase tag inverted, so the host does not see it as new; the controller's tail
     * still advances past it (the completion is lost, and the host sees a stale entry as new after the queue wraps).
     */
    WRONG_PHASE
}
