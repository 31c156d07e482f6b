/**
 * Ferrum's benchmarks (JMH): every safe abstraction against a raw-pointer baseline, the NVMe queue code against a
 * raw-pointer variant and a C reference, and the report generator. Never a dependency of anything; the raw
 * baselines here are the documented exception to the raw-memory quarantine. Runs from the shaded jar on the class
 * path ({@code ./ferrum bench}); this descriptor is checked at compile time.
 */
module dev.ferrum.bench {
    requires dev.ferrum.nvme;
    requires jmh.core;
    requires jdk.unsupported;
    requires org.knowm.xchart;
    requires java.desktop;

    exports dev.ferrum.bench;
    exports dev.ferrum.bench.report;
}
