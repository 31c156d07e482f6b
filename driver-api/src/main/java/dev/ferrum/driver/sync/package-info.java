/**
 * Synchronisation primitives mirroring the kernel's {@code rust/kernel/sync}.
 *
 * <ul>
 *   <li>{@link dev.ferrum.driver.sync.SpinLock} and {@link dev.ferrum.driver.sync.Mutex}, one
 *       {@link dev.ferrum.driver.sync.Lock} design with two backends: the data is reachable only through a
 *       thread-bound, allocation-free {@link dev.ferrum.driver.sync.Guard}.</li>
 *   <li>{@link dev.ferrum.driver.sync.CondVar}: waits take the guard as proof that the lock is held.</li>
 *   <li>{@link dev.ferrum.driver.sync.LockClass} and the optional {@link dev.ferrum.driver.sync.LockOrderChecker}
 *       (lockdep): reports {@link dev.ferrum.driver.sync.LockOrderViolation} before an inverted order
 *       deadlocks.</li>
 *   <li>{@link dev.ferrum.driver.sync.Refcount}: {@code refcount_t}, saturating instead of wrapping.</li>
 *   <li>{@link dev.ferrum.driver.sync.Arc} and {@link dev.ferrum.driver.sync.UniqueArc}: reference-counted
 *       handles whose last close releases the resource exactly once.</li>
 * </ul>
 *
 * {@snippet class=dev.ferrum.example.javadoc.SyncExamplesTest region=spinlock}
 * {@snippet class=dev.ferrum.example.javadoc.SyncExamplesTest region=condvar}
 */
package dev.ferrum.driver.sync;
