package dev.ferrum.driver.sync;

import java.util.Objects;

/**
 * A spinning lock that owns the value it protects: the kernel's {@code SpinLock<T>}. See {@link Lock} for the guard
 * discipline, allocation, memory ordering and error behaviour (including the accepted deviation that the one guard
 * object of a lock is reused, so a kept guard works again when the same thread re-locks); see
 * {@link SpinLockBackend} for how it waits.
 *
 * <p>Use it for short critical sections that never block (updating queue indices, completion bookkeeping). A
 * waiter busy-waits, then yields; it never parks, so holding a spin lock across anything that blocks wastes the
 * CPUs of every waiter. {@link CondVar} works with it (the lock is released before the waiter parks).
 *
 * <p>Construction: {@code new SpinLock<>(value)} gives the lock the class of its creation site (one stack walk per
 * construction: create locks once, not per operation); {@code new SpinLock<>(value, LockClass.named("nvme.sq"))}
 * shares a named class and skips the walk.
 *
 * {@snippet class=dev.ferrum.example.javadoc.SyncExamplesTest region=spinlock}
 *
 * <p>Invariants: those of {@link Lock}.
 *
 * @param <T> the protected value's type
 */
public final class SpinLock<T> extends Lock<T, SpinLockBackend> {

    /**
     * @param value the initial protected value (may be null)
     */
    public SpinLock(T value) {
        super(value, null, new SpinLockBackend());
    }

    /**
     * @param value the initial protected value (may be null)
     * @param lockClass the lock class
     * @throws NullPointerException if {@code lockClass} is null
     */
    public SpinLock(T value, LockClass lockClass) {
        super(value, Objects.requireNonNull(lockClass, "lockClass"), new SpinLockBackend());
    }
}
