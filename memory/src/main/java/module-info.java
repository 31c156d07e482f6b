/**
 * Safe memory for device drivers: DMA buffers with device addresses, checked MMIO register windows and
 * revocable resources. Every off-heap resource here belongs to an {@link java.lang.foreign.Arena} or to an owner
 * that closes one; access after close throws.
 */
module dev.ferrum.memory {
    requires transitive dev.ferrum.sys;
    requires org.slf4j;

    exports dev.ferrum.memory;
    // The live-resource registry (leak checks): the driver API registers the mappings, views and threads it owns.
    exports dev.ferrum.memory.internal to dev.ferrum.driver;
}
