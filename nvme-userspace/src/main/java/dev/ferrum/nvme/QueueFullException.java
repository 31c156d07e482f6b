package dev.ferrum.nvme;

/**
 * An asynchronous submission needs more command slots than the queue pair has free (a transfer larger than
 * {@link IoQueuePair#maxCommandBytes()} takes {@link IoQueuePair#commandsFor} slots): complete some commands first
 * ({@link IoQueuePair#processCompletions(int)}), or create the pair deeper. Nothing of the request was submitted.
 * Synchronous calls never throw this: they wait for free slots.
 */
public final class QueueFullException extends NvmeException {
    private static final long serialVersionUID = 1L;

    QueueFullException(String message) {
        super(message);
    }
}
