/**
 * Ferrum's driver API: the Linux kernel's Rust driver abstractions mirrored in Java.
 *
 * <ul>
 *   <li>{@link dev.ferrum.driver.sync}: locks whose data is reachable only through a guard, condition variables,
 *       lock classes with an optional lock-order checker, saturating reference counts and {@code Arc}.</li>
 *   <li>{@link dev.ferrum.driver.workqueue}: workqueues, embedded work items, delayed work.</li>
 * </ul>
 */
module dev.ferrum.driver {
    requires org.slf4j;

    exports dev.ferrum.driver.sync;
    exports dev.ferrum.driver.workqueue;
}
