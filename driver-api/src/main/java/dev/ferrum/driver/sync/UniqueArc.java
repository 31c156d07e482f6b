package dev.ferrum.driver.sync;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;

/**
 * The exclusively owned phase of an {@link Arc}: the kernel's {@code UniqueArc<T>}. While an object is being set up
 * only its creator refers to it; {@link #share()} then turns the one reference into a shareable {@link Arc} handle.
 * {@link #close()} before sharing releases the resource at once (the creator was the only owner).
 *
 * <p>Invariants: exactly one of {@link #share()} and {@link #close()} succeeds, once; afterwards every method
 * throws {@link IllegalStateException}. The resource is released exactly once: by {@code close()}, or by the last
 * close of the {@code Arc} handles descending from {@code share()}.
 *
 * <p>Memory ordering: {@code share()} adds none (publish the returned handle safely); the release ordering is that
 * of {@link Arc}.
 *
 * @param <T> the resource type
 */
public final class UniqueArc<T> implements AutoCloseable {

    private static final VarHandle CONSUMED = Handles.field(MethodHandles.lookup(), "consumed", boolean.class);

    private final Arc.Shared<T> shared;
    private volatile boolean consumed;

    private UniqueArc(Arc.Shared<T> shared) {
        this.shared = shared;
    }

    /**
     * @return a unique owner of {@code value}, released with {@link AutoCloseable#close()}
     * @throws NullPointerException if {@code value} is null
     */
    public static <T extends AutoCloseable> UniqueArc<T> of(T value) {
        return new UniqueArc<>(new Arc.Shared<>(value, Arc::closeResource));
    }

    /**
     * @return a unique owner of {@code value}, released with {@code release}
     * @throws NullPointerException if {@code value} or {@code release} is null
     */
    public static <T> UniqueArc<T> of(T value, Consumer<? super T> release) {
        return new UniqueArc<>(new Arc.Shared<>(value, release));
    }

    /**
     * @return the resource
     * @throws IllegalStateException if this owner was shared or closed
     */
    public T get() {
        if (consumed) {
            throw consumedError("get()");
        }
        return shared.value;
    }

    /**
     * Ends the unique phase: returns the first shareable handle, holding this owner's reference.
     *
     * @throws IllegalStateException if this owner was already shared or closed
     */
    public Arc<T> share() {
        consume("share()");
        return new Arc<>(shared);
    }

    /**
     * Releases the resource now.
     *
     * @throws IllegalStateException if this owner was already shared or closed
     * @throws RuntimeException whatever the release threw (see {@link Arc})
     */
    @Override
    public void close() {
        consume("close()");
        shared.drop();
    }

    private void consume(String op) {
        if (!CONSUMED.compareAndSet(this, false, true)) {
            throw consumedError(op);
        }
    }

    private IllegalStateException consumedError(String op) {
        return new IllegalStateException(op + " on a UniqueArc of " + shared.value.getClass().getName()
                + " that was already shared or closed; use the Arc returned by share()");
    }

    @Override
    public String toString() {
        return "UniqueArc[" + shared.value.getClass().getName() + (consumed ? ", consumed" : "") + "]";
    }
}
