package dev.ferrum.driver.workqueue;

/**
 * A work item: a function that a {@link Workqueue} runs on one of its workers, the kernel's {@code work_struct}
 * with {@code impl_has_work!}. Embed it as a final field of the object it works on and queue it whenever there is
 * something to do:
 *
 * {@snippet class=dev.ferrum.example.javadoc.WorkqueueExamplesTest region=work}
 *
 * <p>See {@link WorkItem} for the states, the memory-ordering guarantees, {@link #flush()}, {@link #cancel()} and
 * {@link #cancelSync()}. Queueing is {@link Workqueue#enqueue(Work)}; it returns false while the item is pending.
 *
 * <p>Invariants: those of {@link WorkItem}; the function never changes.
 */
public final class Work extends WorkItem {

    /**
     * @param function what to run; exceptions it throws are logged and counted by the queue, which carries on
     * @throws NullPointerException if {@code function} is null
     */
    public Work(Runnable function) {
        super(null, function);
    }

    /**
     * @param name a name for log messages and {@link #toString()} (null: the function's class name)
     * @param function what to run
     * @throws NullPointerException if {@code function} is null
     */
    public Work(String name, Runnable function) {
        super(name, function);
    }
}
