package dev.ferrum.driver.sync;

import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A lock that owns the value it protects: the kernel's {@code Lock<T, B: Backend>}. The two kinds are
 * {@link SpinLock} ({@link SpinLockBackend}: busy-waits, for short critical sections that must not park) and
 * {@link Mutex} ({@link MutexBackend}: parks). Everything on this page applies to both.
 *
 * <p>The value is reachable only through the {@link Guard} returned by {@link #lock()} or {@link #tryLock()}, or
 * inside the {@link #with(Function)}, {@link #run(Consumer)} and {@link #update(UnaryOperator)} helpers; there is no
 * other accessor. (Java cannot stop a caller from keeping a reference to a mutable value it obtained through the
 * guard; keep such references inside the critical section, as in Rust.)
 *
 * <p><b>Guards and allocation.</b> Each lock has exactly one {@code Guard} object, created with the lock and handed
 * out by every acquisition, so {@code lock()}/{@code close()} allocate nothing. The lock records its owner thread;
 * every guard operation first checks that the calling thread is the owner and throws
 * {@link IllegalStateException} otherwise. Hence: a guard used by another thread throws; a guard used after
 * {@code close()} (or inside {@link Guard#unlocked(Runnable)}) throws; a second {@code close()} throws.
 *
 * <p><b>Accepted deviation from the kernel's guards: a stale guard revives.</b> In Rust a guard is consumed when it
 * is dropped, so no code can hold on to it. Here, because the guard object is reused, a reference kept from an
 * earlier acquisition is the same object as the current guard: it is usable again whenever the same thread holds
 * the lock again. That is memory-safe (that thread owns the data at that moment, and no other thread can use the
 * stale reference), but it is not detected: {@code get()}/{@code set()} through the stale reference act on the
 * current acquisition, and a {@code close()} through it releases the current acquisition early; the misuse surfaces
 * only at the next guard operation of the rightful holder, whose {@code close()} then throws because the lock is no
 * longer held. Detecting staleness needs a distinct guard per acquisition (a generation stamp has to live in
 * something the caller holds, and a reference to the one shared guard cannot carry it): that is an allocation per
 * {@code lock()}. Escape analysis removes it only when {@code lock()} and every use of the guard are inlined and the
 * guard never escapes (not when it is passed to {@link CondVar} or to a helper the JIT does not inline, nor before
 * C2 compiles the code), so the lock's hot path could no longer be promised allocation-free; Java 25 has no value
 * classes that would make a stamped guard free. Ferrum keeps allocation-free locking and accepts this deviation:
 * do not keep a guard beyond its try-with-resources block.
 *
 * <p><b>Hot path.</b> Uncontended {@code lock()} is the backend's CAS, a plain store of the owner thread, and two
 * branches on the {@code static final} {@code LockDep.AVAILABLE} flag that the JIT removes when the
 * {@linkplain LockOrderChecker lock-order checker} is compiled out. {@code Guard.close()} is an owner check, a plain
 * store, and the backend's release. The owner field is written only by the thread that holds the lock (after
 * acquiring, before releasing) and compared only against the reader's own thread: a thread always sees its own
 * latest write, and never sees its own identity where it did not write it, so plain accesses make the owner check
 * exact for the calling thread.
 *
 * <p><b>Memory ordering.</b> Releasing the lock happens-before the next acquisition of it (release store / CAS, see
 * the backends): everything a holder wrote, including {@link Guard#set(Object)}, is visible to the next holder. The
 * initial value is published with a volatile write in the constructor, so even a lock that reached another thread
 * through a data race shows that thread the initial value once it acquires the lock.
 *
 * <p><b>Misuse that is refused.</b> Acquiring a lock the current thread already holds throws
 * {@link IllegalStateException} instead of deadlocking (detected on the contended path, so it costs nothing
 * uncontended). With the checker on, an acquisition that inverts a recorded lock order throws
 * {@link LockOrderViolation} before blocking.
 *
 * <p>Invariants: {@code owner != null} exactly while the lock is held, and then it is the holding thread; the value
 * is read or written only by the owner; {@link #lockClass()} never changes.
 *
 * @param <T> the type of the protected value (null is allowed, e.g. for a lock that guards external state)
 * @param <B> the backend
 */
public abstract sealed class Lock<T, B extends LockBackend> permits SpinLock, Mutex {

    final B backend;
    final LockClass lockClass;
    final Guard<T> guard;

    /** The protected value. Read and written only by the owner, through {@link #guard}. */
    T value;

    /** The holding thread, or null. See the class comment for why plain accesses suffice. */
    Thread owner;

    Lock(T value, LockClass lockClass, B backend) {
        this.value = value;
        this.lockClass = lockClass != null ? lockClass : LockClass.ofCreationSite(LockDep.creationSite());
        this.backend = backend;
        this.guard = new Guard<>(this);
        backend.publish(); // volatile write after the value: see "Memory ordering"
    }

    /**
     * Acquires the lock, waiting as the backend does (spinning for {@link SpinLock}, parking for {@link Mutex}).
     * Not interruptible. Allocation-free.
     *
     * @return this lock's guard, valid on the calling thread until closed
     * @throws IllegalStateException if the calling thread already holds this lock (it would deadlock)
     * @throws LockOrderViolation if the lock-order checker is on and this acquisition inverts a recorded order;
     *         the lock is then not acquired
     */
    public final Guard<T> lock() {
        LockDep.Site site = LockDep.AVAILABLE ? LockDep.beforeAcquire(this) : null;
        backend.acquire(this);
        owner = Thread.currentThread();
        if (LockDep.AVAILABLE) {
            LockDep.acquired(this, site);
        }
        return guard;
    }

    /**
     * Acquires the lock only if it is free now. Allocation-free. A try-lock adds no lock-order edge (it cannot
     * block), but locks acquired while it is held are ordered after it.
     *
     * @return this lock's guard, or {@code null} if the lock is held (by any thread, including the caller)
     */
    public final Guard<T> tryLock() {
        if (!backend.tryAcquire()) {
            return null;
        }
        owner = Thread.currentThread();
        if (LockDep.AVAILABLE) {
            LockDep.acquiredTry(this);
        }
        return guard;
    }

    /**
     * Runs {@code action} on the value with the lock held and returns its result; the lock is released even if
     * {@code action} throws.
     *
     * @throws IllegalStateException if the calling thread already holds this lock
     * @throws LockOrderViolation as for {@link #lock()}
     */
    public final <R> R with(Function<? super T, ? extends R> action) {
        Objects.requireNonNull(action, "action");
        lock();
        try {
            return action.apply(value);
        } finally {
            release();
        }
    }

    /** Like {@link #with(Function)} for an action without a result. */
    public final void run(Consumer<? super T> action) {
        Objects.requireNonNull(action, "action");
        lock();
        try {
            action.accept(value);
        } finally {
            release();
        }
    }

    /**
     * Replaces the value with {@code update.apply(value)} with the lock held, and returns the new value. If
     * {@code update} throws, the value is unchanged.
     */
    public final T update(UnaryOperator<T> update) {
        Objects.requireNonNull(update, "update");
        lock();
        try {
            T next = update.apply(value);
            value = next;
            return next;
        } finally {
            release();
        }
    }

    /** @return true if the calling thread holds this lock (the kernel's {@code lockdep_assert_held}, always on) */
    public final boolean isHeldByCurrentThread() {
        return owner == Thread.currentThread();
    }

    /** @return this lock's class: its creation site, or the name it was created with */
    public final LockClass lockClass() {
        return lockClass;
    }

    /** Releases; the caller has checked that it is the owner. */
    final void release() {
        owner = null;
        if (LockDep.AVAILABLE) {
            LockDep.released(this);
        }
        backend.release();
    }

    /** Called by a backend before waiting: a thread waiting for a lock it holds would wait forever. */
    final void checkNotHeldByCurrentThread() {
        if (owner == Thread.currentThread()) {
            throw new IllegalStateException("thread \"" + Thread.currentThread().getName() + "\" tried to acquire "
                    + this + " which it already holds; these locks are not reentrant and this would deadlock");
        }
    }

    /** Names the kind, the class and the holder (racy snapshot); never the value. */
    @Override
    public String toString() {
        Thread o = owner;
        return getClass().getSimpleName() + "[" + lockClass.name() + ", "
                + (o == null ? "unlocked" : "held by \"" + o.getName() + "\"") + "]";
    }
}
