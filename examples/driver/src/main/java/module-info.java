/**
 * The example of Ferrum's driver-writing guide ({@code docs/writing-a-driver.md}): a PCI driver for the CSUM-1
 * checksum accelerator ({@link dev.ferrum.example.checksum}) and the device's model on the mock PCI bus
 * ({@link dev.ferrum.example.checksum.model}).
 */
module dev.ferrum.example {
    requires transitive dev.ferrum.driver;
    requires org.slf4j;

    exports dev.ferrum.example.checksum;
    exports dev.ferrum.example.checksum.model;
}
