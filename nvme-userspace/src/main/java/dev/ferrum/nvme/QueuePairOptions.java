package dev.ferrum.nvme;

import java.time.Duration;
import java.util.Objects;

/**
 * How an {@link IoQueuePair} is used.
 *
 * <p>Threading: {@link Threading#OWNER_THREAD} (default) binds the pair to the creating thread and takes no lock,
 * like an SPDK qpair: every call from another thread throws {@link WrongThreadException}.
 * {@link Threading#SHARED} lets any thread submit and complete, serialized by a spin lock.
 *
 * <p>Completion: {@link Completion#POLLING} (default) finds completions by reading the completion queue;
 * {@link Completion#INTERRUPT} gives the queue an MSI-X vector: waiting threads sleep until it fires, and for a
 * shared pair the interrupt's bottom half completes commands on a workqueue even when no thread is polling. The
 * vector is the queue's own when the device has one per queue; otherwise queues share vectors (with a single vector,
 * also with the admin queue), each with its own handler, so a queue's interrupt wakes only work that checks it.
 * A thread waiting for an interrupt polls anyway after {@link NvmeOptions#interruptFallback()}.
 */
public final class QueuePairOptions {
    /** Who may use the queue pair. */
    public enum Threading { OWNER_THREAD, SHARED }

    /** How completions are noticed. */
    public enum Completion { POLLING, INTERRUPT }

    private final int depth;
    private final Threading threading;
    private final Completion completion;
    private final Duration commandTimeout;
    private final boolean autoDoorbell;

    private QueuePairOptions(Builder b) {
        this.depth = b.depth;
        this.threading = b.threading;
        this.completion = b.completion;
        this.commandTimeout = b.commandTimeout;
        this.autoDoorbell = b.autoDoorbell;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@return the defaults: controller's I/O depth, owner thread, polling} */
    public static QueuePairOptions defaults() {
        return builder().build();
    }

    /** {@return queue entries, or 0 for the controller's default} */
    public int depth() {
        return depth;
    }

    public Threading threading() {
        return threading;
    }

    public Completion completion() {
        return completion;
    }

    /** {@return the command timeout, or null for the controller's default} */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** {@return whether each submission rings the doorbell (default); if not, call {@link IoQueuePair#ringDoorbell()}} */
    public boolean autoDoorbell() {
        return autoDoorbell;
    }

    /** Builds {@link QueuePairOptions}. */
    public static final class Builder {
        private int depth;
        private Threading threading = Threading.OWNER_THREAD;
        private Completion completion = Completion.POLLING;
        private Duration commandTimeout;
        private boolean autoDoorbell = true;

        private Builder() {}

        /** Queue entries (2..65536; capped by CAP.MQES + 1). Up to {@code depth - 1} commands can be outstanding. */
        public Builder depth(int depth) {
            this.depth = NvmeOptions.Builder.checkDepth(depth, "queue depth");
            return this;
        }

        public Builder threading(Threading threading) {
            this.threading = Objects.requireNonNull(threading, "threading");
            return this;
        }

        public Builder completion(Completion completion) {
            this.completion = Objects.requireNonNull(completion, "completion");
            return this;
        }

        public Builder commandTimeout(Duration timeout) {
            this.commandTimeout = NvmeOptions.Builder.positive(timeout, "command timeout");
            return this;
        }

        /**
         * With {@code false}, submissions are batched: they reach the device only at
         * {@link IoQueuePair#ringDoorbell()} (one doorbell write for many commands).
         */
        public Builder autoDoorbell(boolean ring) {
            this.autoDoorbell = ring;
            return this;
        }

        public QueuePairOptions build() {
            return new QueuePairOptions(this);
        }
    }
}
