package dev.ferrum.nvme;

/**
 * An asynchronous submission found no free command slot in the queue pair: complete some commands first
 * ({@link IoQueuePair#processCompletions(int)}). Nothing was submitted.
 */
public final class QueueFullException extends NvmeException {
    private static final long serialVersionUID = 1L;

    QueueFullException(String message) {
        super(message);
    }
}
