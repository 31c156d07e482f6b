package dev.ferrum.agx;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of an {@link AgxDevice}. Start from {@link #defaults()}, or change some with
 * {@link #builder()}: {@code AgxOptions.builder().queueSize(16).jobTimeout(Duration.ofSeconds(1)).build()}.
 *
 * @param queueSize         entries of each work queue's ring (2..4096): at most {@code queueSize - 1} jobs of one
 *                          queue are in flight; further submissions wait for room
 * @param eventSlots        how many of the firmware's 128 event stamp slots the driver uses (1..128): at most this
 *                          many queues have work in flight at once; the next one waits for a slot
 * @param bootTimeout       how long {@link AgxDevice#open} waits for the firmware to accept the init data
 * @param jobTimeout        the timeout of a job that does not set its own ({@link ComputeJob#withTimeout})
 * @param commandTimeout    how long the driver waits for the firmware to consume a control message (a TLB
 *                          invalidation) or to free a slot of a full channel
 * @param submitTimeout     how long a submission waits for ring room or an event slot before it fails
 * @param watchdogPeriod    how often the driver checks the firmware's status and polls for events it may have missed
 * @param firmwareGrace     how long past a job's timeout the driver waits for the firmware to report it before it
 *                          declares the firmware unresponsive
 * @param closeTimeout      how long {@link AgxDevice#close()} lets jobs in flight finish before it fails them
 *
 * <p>Invariants: every duration is positive; sizes are in the ranges above.
 */
public record AgxOptions(int queueSize, int eventSlots, Duration bootTimeout, Duration jobTimeout,
                         Duration commandTimeout, Duration submitTimeout, Duration watchdogPeriod,
                         Duration firmwareGrace, Duration closeTimeout) {

    public AgxOptions {
        if (queueSize < 2 || queueSize > 4096) {
            throw new IllegalArgumentException("queueSize " + queueSize + " is not 2..4096");
        }
        if (eventSlots < 1 || eventSlots > 128) {
            throw new IllegalArgumentException("eventSlots " + eventSlots + " is not 1..128 (the firmware has 128)");
        }
        positive("bootTimeout", bootTimeout);
        positive("jobTimeout", jobTimeout);
        positive("commandTimeout", commandTimeout);
        positive("submitTimeout", submitTimeout);
        positive("watchdogPeriod", watchdogPeriod);
        positive("firmwareGrace", firmwareGrace);
        positive("closeTimeout", closeTimeout);
        if (jobTimeout.toMillis() < 1 || jobTimeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("jobTimeout " + jobTimeout + " is not 1 ms .. 2^31-1 ms (the firmware's"
                    + " timeout field counts whole milliseconds)");
        }
    }

    private static void positive(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " " + d + " is not positive");
        }
    }

    /** {@return queues of 64 entries, all 128 slots, 10 s job timeout, 100 ms watchdog} */
    public static AgxOptions defaults() {
        return new AgxOptions(64, 128, Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(2),
                Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofSeconds(2), Duration.ofSeconds(10));
    }

    /** {@return a builder starting from these options} */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** {@return a builder starting from {@link #defaults()}} */
    public static Builder builder() {
        return new Builder(defaults());
    }

    /** Changes some options; {@link #build()} validates them all. */
    public static final class Builder {
        private int queueSize;
        private int eventSlots;
        private Duration bootTimeout;
        private Duration jobTimeout;
        private Duration commandTimeout;
        private Duration submitTimeout;
        private Duration watchdogPeriod;
        private Duration firmwareGrace;
        private Duration closeTimeout;

        private Builder(AgxOptions o) {
            queueSize = o.queueSize;
            eventSlots = o.eventSlots;
            bootTimeout = o.bootTimeout;
            jobTimeout = o.jobTimeout;
            commandTimeout = o.commandTimeout;
            submitTimeout = o.submitTimeout;
            watchdogPeriod = o.watchdogPeriod;
            firmwareGrace = o.firmwareGrace;
            closeTimeout = o.closeTimeout;
        }

        public Builder queueSize(int n) {
            queueSize = n;
            return this;
        }

        public Builder eventSlots(int n) {
            eventSlots = n;
            return this;
        }

        public Builder bootTimeout(Duration d) {
            bootTimeout = d;
            return this;
        }

        public Builder jobTimeout(Duration d) {
            jobTimeout = d;
            return this;
        }

        public Builder commandTimeout(Duration d) {
            commandTimeout = d;
            return this;
        }

        public Builder submitTimeout(Duration d) {
            submitTimeout = d;
            return this;
        }

        public Builder watchdogPeriod(Duration d) {
            watchdogPeriod = d;
            return this;
        }

        public Builder firmwareGrace(Duration d) {
            firmwareGrace = d;
            return this;
        }

        public Builder closeTimeout(Duration d) {
            closeTimeout = d;
            return this;
        }

        /**
         * {@return the options}
         *
         * @throws IllegalArgumentException if a value is out of range (the message names it)
         */
        public AgxOptions build() {
            return new AgxOptions(queueSize, eventSlots, bootTimeout, jobTimeout, commandTimeout, submitTimeout,
                    watchdogPeriod, firmwareGrace, closeTimeout);
        }
    }
}
