/**
 * The Apple AGX GPU driver's structure (after the Asahi Linux driver) on a simulated GPU firmware: shared-memory
 * channels, a GPU page table the firmware walks, event stamps, work queues of compute jobs, and fault, timeout and
 * crash handling. {@link dev.ferrum.agx} is the driver and its small user API; {@link dev.ferrum.agx.firmware} is the
 * simulated firmware, a device model for the mock PCI bus.
 */
module dev.ferrum.agx {
    requires transitive dev.ferrum.driver;
    requires org.slf4j;

    exports dev.ferrum.agx;
    exports dev.ferrum.agx.firmware;
}
