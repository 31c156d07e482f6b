/**
 * Raw bindings to libc, Linux VFIO and the NVMe data structures: the {@code -sys} layer of Ferrum.
 *
 * <p>Nothing here checks anything: addresses, lengths and lifetimes are the caller's problem. The packages are
 * therefore exported only to the Ferrum modules that wrap them in safe abstractions, and only inside their
 * {@code internal} packages (ARCHITECTURE.md, rule 4).
 */
module dev.ferrum.sys {
    exports dev.ferrum.sys to dev.ferrum.memory, dev.ferrum.driver, dev.ferrum.nvme;
    exports dev.ferrum.sys.linux to dev.ferrum.memory, dev.ferrum.driver;
    exports dev.ferrum.sys.nvme to dev.ferrum.nvme;
}
