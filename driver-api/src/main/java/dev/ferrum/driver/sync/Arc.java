package dev.ferrum.driver.sync;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A handle to a shared, reference-counted resource: the kernel's {@code Arc<T>} (and {@code ARef<T>}). Every
 * handle counts one reference; {@link #clone()} makes another handle, {@link #close()} drops this one, and the
 * close that drops the last reference releases the resource &mdash; {@link AutoCloseable#close()} for
 * {@link #of(AutoCloseable)}, the given action for {@link #of(Object, Consumer)} &mdash; exactly once.
 *
 * {@snippet class=dev.ferrum.example.javadoc.SyncExamplesTest region=arc}
 *
 * <p><b>Handles.</b> A handle is an object with its own closed flag. Using a closed handle ({@link #get()},
 * {@link #clone()}, a second {@link #close()}) throws {@link IllegalStateException}; other handles to the same
 * resource are unaffected. A handle may be passed between threads (with the usual safe publication) but is meant
 * to be used by one thread at a time; two threads closing the same handle are still detected (one of them throws).
 * Cloning allocates the new handle; {@link #get()} does not allocate.
 *
 * <p><b>Release.</b> The release runs on the thread of the last {@code close()}, once, and is never retried. If it
 * throws, the exception propagates from that {@code close()} (a checked exception from
 * {@link AutoCloseable#close()} is wrapped: an {@link IOException} in an {@link UncheckedIOException}, anything
 * else in an {@link IllegalStateException}); the resource still counts as released.
 *
 * <p><b>Memory ordering.</b> The count is a {@link Refcount}: every handle's uses of the resource before its
 * {@code close()} happen-before the release (release decrements, acquire on the last). A {@code clone()}
 * happens-before nothing in particular: publish the new handle to another thread safely, as any object.
 *
 * <p>Invariants: the count equals the number of open handles (plus those of a {@link UniqueArc} not yet shared);
 * the resource is released exactly once, after the count reaches 0, and no handle can reach it afterwards.
 *
 * @param <T> the resource type
 */
public final class Arc<T> implements AutoCloseable {

    private static final VarHandle CLOSED = Handles.field(MethodHandles.lookup(), "closed", boolean.class);

    /** What all handles to one resource share. */
    static final class Shared<T> {
        final Refcount refs;
        final T value;
        final Consumer<? super T> release;

        Shared(T value, Consumer<? super T> release) {
            this.value = Objects.requireNonNull(value, "value");
            this.release = Objects.requireNonNull(release, "release");
            this.refs = new Refcount(1);
        }

        void drop() {
            if (refs.decAndTest()) {
                release.accept(value);
            }
        }
    }

    private final Shared<T> shared;
    private volatile boolean closed;

    Arc(Shared<T> shared) {
        this.shared = shared;
    }

    /**
     * Wraps a resource whose {@link AutoCloseable#close()} is called when the last handle closes.
     *
     * @return the first handle (count 1)
     * @throws NullPointerException if {@code value} is null
     */
    public static <T extends AutoCloseable> Arc<T> of(T value) {
        return new Arc<>(new Shared<>(value, Arc::closeResource));
    }

    /**
     * Wraps a value with a release action run when the last handle closes.
     *
     * @return the first handle (count 1)
     * @throws NullPointerException if {@code value} or {@code release} is null
     */
    public static <T> Arc<T> of(T value, Consumer<? super T> release) {
        return new Arc<>(new Shared<>(value, release));
    }

    /**
     * @return the shared resource
     * @throws IllegalStateException if this handle is closed
     */
    public T get() {
        checkOpen("get()");
        return shared.value;
    }

    /**
     * Makes a new handle to the same resource, adding a reference.
     *
     * @return a new, open handle
     * @throws IllegalStateException if this handle is closed
     */
    @Override
    public Arc<T> clone() {
        checkOpen("clone()");
        shared.refs.inc();
        return new Arc<>(shared);
    }

    /**
     * Closes this handle, dropping its reference; releases the resource if it was the last.
     *
     * @throws IllegalStateException if this handle was already closed
     * @throws RuntimeException whatever the release threw (see the class comment), from the last close only
     */
    @Override
    public void close() {
        if (!CLOSED.compareAndSet(this, false, true)) {
            throw new IllegalStateException("Arc handle to " + describe() + " closed twice: each handle is closed"
                    + " exactly once (clone() another handle if you need one)");
        }
        shared.drop();
    }

    /** @return true if this handle has been closed */
    public boolean isClosed() {
        return closed;
    }

    /** @return the number of open handles now (a racy snapshot, for diagnostics and tests) */
    public int referenceCount() {
        return shared.refs.read();
    }

    private void checkOpen(String op) {
        if (closed) {
            throw new IllegalStateException(op + " on a closed Arc handle to " + describe()
                    + ": the handle's reference was dropped by its close()");
        }
    }

    private String describe() {
        return shared.value.getClass().getName();
    }

    /** The release action of {@link #of(AutoCloseable)}: close, with checked exceptions wrapped. */
    static void closeResource(AutoCloseable resource) {
        try {
            resource.close();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("releasing " + resource.getClass().getName() + " failed", e);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("releasing " + resource.getClass().getName() + " failed", e);
        }
    }

    @Override
    public String toString() {
        return "Arc[" + describe() + (closed ? ", closed handle" : ", refs=" + referenceCount()) + "]";
    }
}
