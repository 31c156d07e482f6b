/**
 * Deferred work mirroring the kernel's {@code workqueue.rs}: {@link dev.ferrum.driver.workqueue.Workqueue} (system
 * queues, named, ordered and max-active-limited queues), {@link dev.ferrum.driver.workqueue.Work} items embedded in
 * their owners, {@link dev.ferrum.driver.workqueue.DelayedWork}, flush, cancel and destroy.
 *
 * <p>The contract every item follows (pending semantics, non-reentrancy, memory ordering) is on
 * {@link dev.ferrum.driver.workqueue.WorkItem}; the thread model of each queue kind is on
 * {@link dev.ferrum.driver.workqueue.Workqueue}.
 *
 * <p>A work item embedded in its owner, queued by an interrupt handler (the bottom half of a driver):
 * {@snippet class=dev.ferrum.example.javadoc.WorkqueueExamplesTest region=work}
 *
 * <p>A queue of one's own, ordered, destroyed at the end:
 * {@snippet class=dev.ferrum.example.javadoc.WorkqueueExamplesTest region=own-queue}
 */
package dev.ferrum.driver.workqueue;
