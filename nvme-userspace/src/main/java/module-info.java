/**
 * A userspace NVMe driver on Ferrum's safe abstractions, a mock NVMe controller for tests and demos, and the
 * {@code ferrum nvme} tools.
 */
module dev.ferrum.nvme {
    requires transitive dev.ferrum.driver;
    requires org.slf4j;
    requires jdk.jfr;
    // The tools only; a library user needs neither.
    requires static info.picocli;
    requires static HdrHistogram;

    exports dev.ferrum.nvme;
    exports dev.ferrum.nvme.mock;

    opens dev.ferrum.nvme.tools to info.picocli;
}
