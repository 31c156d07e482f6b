package dev.ferrum.nvme;

import java.time.Duration;
import java.util.Objects;

/**
 * Controller-wide settings of the NVMe driver. Defaults suit a real drive; tests shorten the timeouts.
 *
 * <p>Invariants: depths are at least 2; timeouts and periods are positive; {@code ioQueues} is 1..65535.
 */
public final class NvmeOptions {
    private final int adminQueueDepth;
    private final int ioQueues;
    private final int ioQueueDepth;
    private final Duration adminTimeout;
    private final Duration commandTimeout;
    private final Duration abortTimeout;
    private final int maxRetries;
    private final boolean interrupts;
    private final int asyncEventRequests;
    private final Duration watchdogPeriod;
    private final Duration interruptFallback;

    private NvmeOptions(Builder b) {
        this.adminQueueDepth = b.adminQueueDepth;
        this.ioQueues = b.ioQueues;
        this.ioQueueDepth = b.ioQueueDepth;
        this.adminTimeout = b.adminTimeout;
        this.commandTimeout = b.commandTimeout;
        this.abortTimeout = b.abortTimeout;
        this.maxRetries = b.maxRetries;
        this.interrupts = b.interrupts;
        this.asyncEventRequests = b.asyncEventRequests;
        this.watchdogPeriod = b.watchdogPeriod;
        this.interruptFallback = b.interruptFallback;
    }

    /** {@return the defaults} */
    public static NvmeOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@return admin queue entries (default 32; limited by CAP.MQES)} */
    public int adminQueueDepth() {
        return adminQueueDepth;
    }

    /** {@return I/O queue pairs to ask the controller for (default 4); it may grant fewer} */
    public int ioQueues() {
        return ioQueues;
    }

    /** {@return default entries per I/O queue (default 256; limited by CAP.MQES)} */
    public int ioQueueDepth() {
        return ioQueueDepth;
    }

    /** {@return how long an admin command may take (default 10 s)} */
    public Duration adminTimeout() {
        return adminTimeout;
    }

    /** {@return default timeout of an I/O command (default 30 s, as Linux)} */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** {@return how long an Abort may take to complete a timed-out command before the controller is reset} */
    public Duration abortTimeout() {
        return abortTimeout;
    }

    /** {@return how many times a command outstanding during a controller reset is resubmitted (default 3)} */
    public int maxRetries() {
        return maxRetries;
    }

    /** {@return whether to use MSI-X interrupts when the device has them (default true)} */
    public boolean interrupts() {
        return interrupts;
    }

    /** {@return how many Asynchronous Event Requests to keep outstanding (default 1; capped by AERL)} */
    public int asyncEventRequests() {
        return asyncEventRequests;
    }

    /** {@return how often the watchdog checks controller status and timeouts (default 100 ms)} */
    public Duration watchdogPeriod() {
        return watchdogPeriod;
    }

    /**
     * {@return how long a thread waiting for an interrupt (an owner-thread queue pair in interrupt mode, an admin
     * command) sleeps before it reads its completion queue anyway (default 1 ms)} A lost interrupt delays a
     * completion by at most this much; shared queue pairs have the {@link #watchdogPeriod() watchdog} instead.
     */
    public Duration interruptFallback() {
        return interruptFallback;
    }

    /** Builds {@link NvmeOptions}. */
    public static final class Builder {
        private int adminQueueDepth = 32;
        private int ioQueues = 4;
        private int ioQueueDepth = 256;
        private Duration adminTimeout = Duration.ofSeconds(10);
        private Duration commandTimeout = Duration.ofSeconds(30);
        private Duration abortTimeout = Duration.ofSeconds(5);
        private int maxRetries = 3;
        private boolean interrupts = true;
        private int asyncEventRequests = 1;
        private Duration watchdogPeriod = Duration.ofMillis(100);
        private Duration interruptFallback = Duration.ofMillis(1);

        private Builder() {}

        public Builder adminQueueDepth(int depth) {
            this.adminQueueDepth = checkDepth(depth, "admin queue depth");
            return this;
        }

        public Builder ioQueues(int count) {
            if (count < 1 || count > 65535) {
                throw new IllegalArgumentException("I/O queue count " + count + " is not 1..65535");
            }
            this.ioQueues = count;
            return this;
        }

        public Builder ioQueueDepth(int depth) {
            this.ioQueueDepth = checkDepth(depth, "I/O queue depth");
            return this;
        }

        public Builder adminTimeout(Duration timeout) {
            this.adminTimeout = positive(timeout, "admin timeout");
            return this;
        }

        public Builder commandTimeout(Duration timeout) {
            this.commandTimeout = positive(timeout, "command timeout");
            return this;
        }

        public Builder abortTimeout(Duration timeout) {
            this.abortTimeout = positive(timeout, "abort timeout");
            return this;
        }

        public Builder maxRetries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException("retries " + retries + " is negative");
            }
            this.maxRetries = retries;
            return this;
        }

        public Builder interrupts(boolean enable) {
            this.interrupts = enable;
            return this;
        }

        public Builder asyncEventRequests(int count) {
            if (count < 0 || count > 16) {
                throw new IllegalArgumentException("async event requests " + count + " is not 0..16");
            }
            this.asyncEventRequests = count;
            return this;
        }

        public Builder watchdogPeriod(Duration period) {
            this.watchdogPeriod = positive(period, "watchdog period");
            return this;
        }

        public Builder interruptFallback(Duration period) {
            this.interruptFallback = positive(period, "interrupt fallback period");
            return this;
        }

        public NvmeOptions build() {
            return new NvmeOptions(this);
        }

        static int checkDepth(int depth, String what) {
            if (depth < 2 || depth > 65536) {
                throw new IllegalArgumentException(what + " " + depth + " is not 2..65536");
            }
            return depth;
        }

        static Duration positive(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " " + d + " is not positive");
            }
            return d;
        }
    }
}
