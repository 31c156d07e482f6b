package dev.ferrum.memory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A value that can be revoked: after {@link #revoke()} no one can reach it any more, and revocation waits for
 * everyone who was using it to finish. The counterpart of the kernel's {@code Revocable<T>} (there backed by RCU).
 *
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=revocable}
 *
 * <p>Invariants: once {@link #revoke()} has started, {@link #tryAccess()} returns empty; {@code revoke()} returns
 * only after every {@link Access} obtained before it was closed; the release action runs exactly once, after
 * that, with no access in progress.
 *
 * <p>Memory ordering: accesses and revocation synchronize through one atomic word; whatever an accessor wrote
 * before closing its {@link Access} is visible to the release action.
 *
 * <p>Do not call {@code revoke()} while the same thread holds an {@code Access}: it would wait for itself (a
 * warning is logged every second while revocation waits). Hot-path users (MMIO windows) use a closeable
 * {@link java.lang.foreign.Arena} instead, which revokes in the same way at no per-access cost.
 *
 * @param <T> the value's type
 */
public final class Revocable<T> {
    private static final Logger LOG = LoggerFactory.getLogger(Revocable.class);
    private static final long REVOKED = 1L << 62;

    /** Number of live accesses, plus {@link #REVOKED} once revocation started. */
    private final AtomicLong state = new AtomicLong();
    private final Consumer<? super T> onRevoke;
    private final String name;
    private volatile T value;
    private volatile Thread revoker;

    /** A revocable {@code value} with no release action. */
    public Revocable(T value, String name) {
        this(value, name, v -> { });
    }

    /**
     * @param onRevoke runs once when revocation completes (e.g. closes the underlying resource)
     */
    public Revocable(T value, String name, Consumer<? super T> onRevoke) {
        this.value = Objects.requireNonNull(value, "value");
        this.name = Objects.requireNonNull(name, "name");
        this.onRevoke = Objects.requireNonNull(onRevoke, "onRevoke");
    }

    /** {@return access to the value, or empty if it has been revoked} Close the access promptly. */
    public Optional<Access<T>> tryAccess() {
        while (true) {
            long s = state.get();
            if ((s & REVOKED) != 0) {
                return Optional.empty();
            }
            if (state.compareAndSet(s, s + 1)) {
                return Optional.of(new Access<>(this, value));
            }
        }
    }

    /**
     * Applies {@code f} to the value unless it has been revoked.
     *
     * @return the result, or empty if revoked
     */
    public <R> Optional<R> tryWith(Function<? super T, ? extends R> f) {
        Optional<Access<T>> a = tryAccess();
        if (a.isEmpty()) {
            return Optional.empty();
        }
        try (Access<T> access = a.get()) {
            return Optional.ofNullable(f.apply(access.get()));
        }
    }

    /**
     * {@return access to the value} Close it promptly.
     *
     * @throws RevokedException if the value has been revoked
     */
    public Access<T> access() {
        return tryAccess().orElseThrow(() -> new RevokedException(name + " has been revoked"));
    }

    /** {@return whether revocation has started} */
    public boolean isRevoked() {
        return (state.get() & REVOKED) != 0;
    }

    /**
     * Revokes the value: new accesses fail at once; this call waits until every access in progress is closed,
     * then runs the release action.
     *
     * @return {@code true} if this call revoked the value, {@code false} if it was already revoked
     */
    public boolean revoke() {
        revoker = Thread.currentThread();
        while (true) {
            long s = state.get();
            if ((s & REVOKED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s | REVOKED)) {
                break;
            }
        }
        long start = System.nanoTime();
        long warned = start;
        while (state.get() != REVOKED) {
            // Bounded park: the last accessor unparks us, and the timeout covers a wake-up raced away.
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
            long now = System.nanoTime();
            if (now - warned > TimeUnit.SECONDS.toNanos(1)) {
                warned = now;
                LOG.warn("revocation of {} has waited {} ms for {} access(es) to close", name,
                        TimeUnit.NANOSECONDS.toMillis(now - start), state.get() & ~REVOKED);
            }
        }
        T v = value;
        value = null;
        onRevoke.accept(v);
        return true;
    }

    private void release() {
        if (state.decrementAndGet() == REVOKED) {
            Thread t = revoker;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public String toString() {
        return "Revocable[" + name + (isRevoked() ? ", revoked]" : "]");
    }

    /**
     * One access to a {@link Revocable}'s value. Invariant: holds the value alive against revocation until closed;
     * closing releases exactly once.
     */
    public static final class Access<T> implements AutoCloseable {
        private Revocable<T> owner;
        private final T value;

        private Access(Revocable<T> owner, T value) {
            this.owner = owner;
            this.value = value;
        }

        /**
         * {@return the value}
         *
         * @throws IllegalStateException if this access was closed
         */
        public T get() {
            if (owner == null) {
                throw new IllegalStateException("access already closed");
            }
            return value;
        }

        /** Ends the access. Closing twice is an error. */
        @Override
        public void close() {
            Revocable<T> o = owner;
            if (o == null) {
                throw new IllegalStateException("access already closed");
            }
            owner = null;
            o.release();
        }
    }
}
