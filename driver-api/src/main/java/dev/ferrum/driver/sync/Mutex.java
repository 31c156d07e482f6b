package dev.ferrum.driver.sync;

import java.util.Objects;

/**
 * A sleeping lock that owns the value it protects: the kernel's {@code Mutex<T>}. See {@link Lock} for the guard
 * discipline, allocation, memory ordering and error behaviour (including the accepted deviation that the one guard
 * object of a lock is reused, so a kept guard works again when the same thread re-locks); see {@link MutexBackend}
 * for how it waits.
 *
 * <p>Use it for critical sections that may take long or block (admin commands, device reset, anything waiting on
 * a {@link CondVar}). A waiter parks; on a virtual thread that frees its carrier.
 *
 * <p>Construction: {@code new Mutex<>(value)} gives the lock the class of its creation site (one stack walk per
 * construction); {@code new Mutex<>(value, LockClass.named("nvme.admin"))} shares a named class.
 *
 * <p>Invariants: those of {@link Lock}.
 *
 * @param <T> the protected value's type
 */
public final class Mutex<T> extends Lock<T, MutexBackend> {

    /**
     * @param value the initial protected value (may be null)
     */
    public Mutex(T value) {
        super(value, null, new MutexBackend());
    }

    /**
     * @param value the initial protected value (may be null)
     * @param lockClass the lock class
     * @throws NullPointerException if {@code lockClass} is null
     */
    public Mutex(T value, LockClass lockClass) {
        super(value, Objects.requireNonNull(lockClass, "lockClass"), new MutexBackend());
    }
}
