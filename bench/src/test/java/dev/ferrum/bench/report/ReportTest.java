package dev.ferrum.bench.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report generator reads JMH and C results correctly and computes ratios and verdicts as documented. */
class ReportTest {

    /** A JMH result entry with the given iteration values (score and error are recomputed from them). */
    private static String result(String benchmark, String params, String unit, double... iterations) {
        StringBuilder raw = new StringBuilder();
        for (double v : iterations) {
            raw.append(raw.isEmpty() ? "" : ", ").append(v);
        }
        return """
                {"benchmark": "dev.ferrum.bench.%s", "mode": "avgt", "forks": 1, "jdkVersion": "25",
                 "vmName": "OpenJDK", "vmVersion": "25+1", "jvmArgs": ["-Xmx1g"], "params": %s,
                 "primaryMetric": {"score": 0, "scoreError": "NaN", "scoreUnit": "%s",
                                   "rawData": [[%s]]}}""".formatted(benchmark, params, unit, raw);
    }

    @Test
    void jsonReaderHandlesWhatJmhWrites() {
        Object v = Json.parse("{\"a\": [1, 2.5e3, -3], \"b\": {\"c\": \"x\\\"y\\u0041\"}, \"d\": \"NaN\", "
                + "\"e\": null, \"f\": true}");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of(1.0, 2500.0, -3.0), m.get("a"));
        assertEquals("x\"yA", ((Map<?, ?>) m.get("b")).get("c"));
        assertEquals("NaN", m.get("d"));
        assertNull(m.get("e"));
        assertEquals(Boolean.TRUE, m.get("f"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("[1] x"));
        assertTrue(e.getMessage().contains("end of input"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\" 1}"));
    }

    @Test
    void measurementsKeepParametersAndConvertThroughput() {
        List<Measurement> ms = Measurement.fromJmh(Json.parse("[" + result("NvmeQueueDepthBench.iops_safe",
                "{\"qd\": \"8\"}", "ops/s", 1.9e6, 2.0e6, 2.1e6) + "]"));
        Measurement m = ms.getFirst();
        assertEquals("NvmeQueueDepthBench.iops_safe[qd=8]", m.key());
        assertEquals(500.0, m.nsPerOp(), 1e-9);
        assertEquals(m.relativeError(), m.nsPerOpError() / m.nsPerOp(), 1e-12);
        assertTrue(m.error() > 1e5, "the 99.9% half-width over three iterations is wide: " + m.error());
        assertEquals(3, m.samples());

        Measurement c = Measurement.fromC(Json.parse("{\"benchmark\": \"nvme_null_loop\", \"compiler\": \"gcc\", "
                + "\"runs_ns_per_op\": [10.0, 12.0, 11.0]}"));
        assertEquals("C.nvme_null_loop", c.key());
        assertEquals(11.0, c.score(), 1e-9);
        assertTrue(c.error() > 1.0, "a 99.9% interval over three runs is wide: " + c.error());
    }

    @Test
    void roundsOfTheSameBenchmarkArePooled() {
        List<Measurement> ms = Measurement.fromJmh(Json.parse("[" + result("MmioBench.read32_safe", "{}", "ns/op",
                1.0, 1.0, 1.0) + "," + result("MmioBench.read32_safe", "{}", "ns/op", 2.0, 2.0, 2.0) + "]"));
        assertEquals(1, ms.size());
        assertEquals(1.5, ms.getFirst().score(), 1e-12);
        assertEquals(6, ms.getFirst().samples());
    }

    @Test
    void verdictsFollowTheConfidenceInterval() {
        assertEquals(Pair.Verdict.MET, Pair.verdict(1.00, 0.02, 1.05));
        assertEquals(Pair.Verdict.MET_WITHIN_ERROR, Pair.verdict(1.04, 0.02, 1.05));
        assertEquals(Pair.Verdict.MISSED_WITHIN_ERROR, Pair.verdict(1.06, 0.02, 1.05));
        assertEquals(Pair.Verdict.MISSED, Pair.verdict(1.20, 0.02, 1.05));
    }

    @Test
    void aSideWhoseErrorExceedsItsValueMakesThePairInconclusive() {
        java.util.Map<String, Measurement> r = java.util.Map.of(
                "LockBench.contended_spinLock", new Measurement("LockBench.contended_spinLock", 70, 10, "ns/op", 5),
                "LockBench.contended_rawCas", new Measurement("LockBench.contended_rawCas", 7e7, 3e8, "ns/op", 5));
        Pair p = Pair.ALL.stream().filter(x -> x.safeKey().equals("LockBench.contended_spinLock")).findFirst()
                .orElseThrow();
        assertEquals(Pair.Verdict.INCONCLUSIVE, p.evaluate(r).verdict());
    }

    @Test
    void reportStatesRatiosTargetsAndMissingPairs(@TempDir Path dir) throws Exception {
        String jmh = "[" + String.join(",",
                result("MmioBench.read32_safe", "{}", "ns/op", 1.10, 1.10),
                result("MmioBench.read32_unsafe", "{}", "ns/op", 1.00, 1.00),
                result("NvmeQueueBench.io_safe", "{}", "ns/op", 40.0, 40.0),
                result("NvmeQueueBench.io_raw", "{}", "ns/op", 38.0, 38.0),
                result("NvmeDriverBench.io_safe", "{}", "ns/op", 100.0, 100.0)) + "]";
        Object c = Json.parse("{\"benchmark\": \"nvme_null_loop\", \"compiler\": \"gcc 12\", "
                + "\"runs_ns_per_op\": [20.0, 20.0]}");
        ReportGenerator g = new ReportGenerator(Json.parse(jmh), c, new Properties(), "a test");
        String md = g.markdown();
        assertTrue(md.contains("| 1 | MMIO registers | read32 (acquire) | 1.10 ± 0.00 | Unsafe | 1.00 ± 0.00 | "
                + "1.100 ± 0.000 | ≤ 1.05 | **no** |"), md);
        assertTrue(md.contains("| queue code per I/O, safe / raw | 40.0 ± 0.0 | RawQueue | 38.0 ± 0.0 | 1.053 ± 0.000 "
                + "| ≤ 1.10 | yes |"), md);
        assertTrue(md.contains("| queue code per I/O, safe / C | 40.0 ± 0.0 | C (gcc -O2) | 20.0 ± 0.0 | 2.000 ± "
                + "0.000 | ≤ 1.50 | **no** |"), md);
        assertTrue(md.contains("| 100 ± 0 | | | 10.00 ± 0.00 M/s | ≥ 5 M/s | yes |"), md);
        assertTrue(md.contains("| driver per I/O on the mock, safe / raw | 100 ± 0 | RawQueue on the mock | — | — |"
                + " ≤ 1.10 | not measured |"), md);
        assertTrue(md.contains("| SQE fill | — | Unsafe | — | — | ≤ 1.05 | not measured |"), md);
        assertTrue(md.contains("> a test"), md);
        g.writeCharts(dir);
        assertTrue(Files.size(dir.resolve("ratios.png")) > 1000);
    }
}
