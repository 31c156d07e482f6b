package dev.ferrum.bench.report;

import org.openjdk.jmh.util.ListStatistics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One benchmark result: a score with the half-width of its 99.9% confidence interval (JMH's "error"), in JMH's
 * unit. Keys are {@code Class.method}, with sorted parameters in brackets ({@code NvmeQueueDepthBench.iops_safe[qd=8]})
 * or {@code C.nvme_null_loop} for the C reference.
 *
 * <p>Invariants: {@code score > 0}; {@code error >= 0} (NaN when JMH had too few samples to compute one is stored as
 * 0 and flagged by {@link #samples()} &lt; 2).
 */
record Measurement(String key, double score, double error, String unit, int samples) {

    /** {@return the time per operation in nanoseconds (throughput scores are inverted)} */
    double nsPerOp() {
        return switch (unit) {
            case "ns/op" -> score;
            case "us/op" -> score * 1e3;
            case "ms/op" -> score * 1e6;
            case "ops/s" -> 1e9 / score;
            case "ops/ms" -> 1e6 / score;
            case "ops/us" -> 1e3 / score;
            default -> throw new IllegalArgumentException("unsupported unit " + unit + " of " + key);
        };
    }

    /** {@return the error of {@link #nsPerOp()} (same relative error)} */
    double nsPerOpError() {
        return nsPerOp() * relativeError();
    }

    /** {@return error / score} */
    double relativeError() {
        return error / score;
    }

    /** {@return operations per second} */
    double opsPerSecond() {
        return 1e9 / nsPerOp();
    }

    /**
     * Reads the results of a JMH JSON result file's top-level array. A benchmark that appears several times (one
     * entry per round of the suite) is one measurement: its iterations are pooled and summarised as JMH does (mean,
     * half-width of the 99.9% confidence interval).
     */
    @SuppressWarnings("unchecked")
    static List<Measurement> fromJmh(Object json) {
        Map<String, ListStatistics> samples = new LinkedHashMap<>();
        Map<String, String> units = new LinkedHashMap<>();
        for (Object o : (List<Object>) json) {
            Map<String, Object> r = (Map<String, Object>) o;
            String name = (String) r.get("benchmark");
            String prefix = "dev.ferrum.bench.";
            if (name.startsWith(prefix)) {
                name = name.substring(prefix.length());
            }
            Map<String, Object> params = (Map<String, Object>) r.get("params");
            if (params != null && !params.isEmpty()) {
                StringBuilder b = new StringBuilder(name).append('[');
                new TreeMap<>(params).forEach((k, v) -> b.append(b.charAt(b.length() - 1) == '[' ? "" : ",")
                        .append(k).append('=').append(v));
                name = b.append(']').toString();
            }
            Map<String, Object> m = (Map<String, Object>) r.get("primaryMetric");
            String unit = (String) m.get("scoreUnit");
            String previous = units.putIfAbsent(name, unit);
            if (previous != null && !previous.equals(unit)) {
                throw new IllegalArgumentException(name + " is in " + previous + " and in " + unit);
            }
            ListStatistics s = samples.computeIfAbsent(name, k -> new ListStatistics());
            Object raw = m.get("rawData");
            if (raw instanceof List<?> forks && !forks.isEmpty()) {
                for (Object f : forks) {
                    for (Object v : (List<?>) f) {
                        s.addValue(number(v));
                    }
                }
            } else {
                s.addValue(number(m.get("score")));
            }
        }
        List<Measurement> out = new ArrayList<>();
        samples.forEach((name, s) -> {
            double err = s.getN() > 1 ? s.getMeanErrorAt(0.999) : 0;
            out.add(new Measurement(name, s.getMean(), Double.isNaN(err) ? 0 : err, units.get(name),
                    (int) s.getN()));
        });
        return out;
    }

    /** Reads the C reference's output: per-run ns/op values, summarised like JMH (mean, 99.9% CI half-width). */
    @SuppressWarnings("unchecked")
    static Measurement fromC(Object json) {
        Map<String, Object> r = (Map<String, Object>) json;
        List<Object> runs = (List<Object>) r.get("runs_ns_per_op");
        ListStatistics s = new ListStatistics();
        for (Object v : runs) {
            s.addValue(number(v));
        }
        double err = runs.size() > 1 ? s.getMeanErrorAt(0.999) : 0;
        return new Measurement("C." + r.get("benchmark"), s.getMean(), Double.isNaN(err) ? 0 : err, "ns/op",
                runs.size());
    }

    private static double number(Object o) {
        if (o instanceof Double d) {
            return d;
        }
        if (o instanceof String s) {
            return Double.parseDouble(s); // "NaN"
        }
        throw new IllegalArgumentException("not a number: " + o);
    }
}
