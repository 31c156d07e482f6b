package dev.ferrum.bench.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The report's charts, drawn with XChart and saved as PNG (headless): ratios against targets, time per operation of
 * the micro pairs, NVMe per-I/O cost, IOPS against queue depth, and the workqueue comparison.
 */
final class Charts {
    private Charts() {}

    static final int[] QUEUE_DEPTHS = {1, 2, 4, 8, 16, 32, 64, 128};

    static void write(Path dir, List<Pair.Row> rows, Map<String, Measurement> results) throws IOException {
        System.setProperty("java.awt.headless", "true");
        save(ratios(rows), dir.resolve("ratios.png"));
        save(micro(rows, results), dir.resolve("micro.png"));
        save(nvme(results), dir.resolve("nvme.png"));
        save(queueDepth(results), dir.resolve("nvme-qd.png"));
        save(workqueue(results), dir.resolve("workqueue.png"));
    }

    private static void save(Chart<?, ?> chart, Path file) throws IOException {
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static String label(Pair p) {
        String l = switch (p.group()) {
            case Pair.MMIO -> "MMIO " + p.name();
            case Pair.NVME -> p.safeKey().startsWith("NvmeDriverBench") ? "NVMe driver+mock, safe / raw"
                    : p.baseKey().startsWith("C.") ? "NVMe queue code, safe / C" : "NVMe queue code, safe / raw";
            case Pair.WORKQUEUE -> p.safeKey().contains("HighPri") ? "Workqueue latency (high-pri)"
                    : "Workqueue latency";
            default -> p.name();
        };
        return l.length() <= 32 ? l : l.substring(0, 31) + "…";
    }

    /** Rotated category labels that end at their tick. */
    private static void verticalLabels(CategoryChart c) {
        c.getStyler().setXAxisLabelRotation(90);
        c.getStyler().setXAxisLabelAlignmentVertical(org.knowm.xchart.style.AxesChartStyler.TextAlignment.Right);
    }

    /** safe / baseline per pair with error bars, and each pair's target as a line. */
    static CategoryChart ratios(List<Pair.Row> rows) {
        List<String> names = new ArrayList<>();
        List<Double> ratio = new ArrayList<>();
        List<Double> err = new ArrayList<>();
        List<Double> target = new ArrayList<>();
        for (Pair.Row r : rows) {
            if (Double.isNaN(r.ratio())) {
                continue;
            }
            names.add(label(r.pair()));
            ratio.add(r.ratio());
            err.add(r.ratioError());
            target.add(r.pair().target());
        }
        CategoryChart c = new CategoryChartBuilder().width(1200).height(700)
                .title("safe / baseline (time per operation), with 99.9% error bars (axis cut at 1.25 x the largest "
                        + "ratio)").yAxisTitle("ratio").build();
        style(c);
        verticalLabels(c);
        c.getStyler().setOverlapped(true);
        double top = 2;
        for (double r : ratio) {
            top = Math.max(top, 1.25 * r);
        }
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(top);
        if (names.isEmpty()) {
            names.add("none");
            ratio.add(0.0);
            err.add(0.0);
            target.add(0.0);
        }
        c.addSeries("safe / baseline", names, ratio, err);
        CategorySeries t = c.addSeries("target", names, target);
        t.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        return c;
    }

    /** ns/op of the safe side, the Unsafe baseline and the everything-segment baseline, per micro pair. */
    static CategoryChart micro(List<Pair.Row> rows, Map<String, Measurement> results) {
        List<String> names = new ArrayList<>();
        List<Double> safe = new ArrayList<>();
        List<Double> base = new ArrayList<>();
        List<Double> segment = new ArrayList<>();
        for (Pair.Row r : rows) {
            Pair p = r.pair();
            if (r.safe() == null || r.base() == null || p.group().equals(Pair.NVME)
                    || p.group().equals(Pair.WORKQUEUE) || p.name().contains("2 threads")) {
                continue; // other scales: their own charts and tables
            }
            names.add(label(p));
            safe.add(r.safe().nsPerOp());
            base.add(r.base().nsPerOp());
            Measurement seg = results.get(p.baseKey().replace("_unsafe", "_segment"));
            segment.add(seg != null && p.baseKey().endsWith("_unsafe") ? seg.nsPerOp() : 0.0);
        }
        CategoryChart c = new CategoryChartBuilder().width(1200).height(700)
                .title("time per operation: safe abstraction and raw baselines (single-thread pairs)")
                .yAxisTitle("ns/op").build();
        style(c);
        verticalLabels(c);
        if (names.isEmpty()) {
            names.add("none");
            safe.add(0.0);
            base.add(0.0);
            segment.add(0.0);
        }
        c.addSeries("safe", names, safe);
        c.addSeries("raw (Unsafe / raw CAS / VarHandle)", names, base);
        c.addSeries("raw (everything segment)", names, segment);
        return c;
    }

    /** NVMe per-I/O time: Java safe, Java raw, C. */
    static CategoryChart nvme(Map<String, Measurement> results) {
        List<String> names = new ArrayList<>();
        List<Double> ns = new ArrayList<>();
        List<Double> err = new ArrayList<>();
        addBar(results, "NvmeDriverBench.io_safe", "driver + mock", names, ns, err);
        addBar(results, "NvmeDriverBench.io_raw", "RawQueue + mock", names, ns, err);
        addBar(results, "NvmeQueueBench.io_safe", "queue code + null dev.", names, ns, err);
        addBar(results, "NvmeQueueBench.io_raw", "RawQueue + null dev.", names, ns, err);
        addBar(results, "C.nvme_null_loop", "C + null dev.", names, ns, err);
        CategoryChart c = new CategoryChartBuilder().width(1100).height(500)
                .title("NVMe: submit + device step + complete, one thread (lower is better)")
                .yAxisTitle("ns per I/O").build();
        style(c);
        c.getStyler().setLegendVisible(false);
        if (names.isEmpty()) {
            names.add("none");
            ns.add(0.0);
            err.add(0.0);
        }
        c.addSeries("ns per I/O", names, ns, err);
        return c;
    }

    private static void addBar(Map<String, Measurement> results, String key, String name, List<String> names,
                               List<Double> ns, List<Double> err) {
        Measurement m = results.get(key);
        if (m != null) {
            names.add(name);
            ns.add(m.nsPerOp());
            err.add(m.nsPerOpError());
        }
    }

    /** IOPS against queue depth, device on its own thread. */
    static XYChart queueDepth(Map<String, Measurement> results) {
        XYChart c = new XYChartBuilder().width(900).height(550)
                .title("NVMe IOPS against queue depth (device on its own thread)")
                .xAxisTitle("queue depth").yAxisTitle("million I/O per second").build();
        style(c);
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setYAxisMin(0.0);
        boolean any = false;
        String[][] series = {
                {"NvmeDriverBench.iops_safe", "driver on the mock"},
                {"NvmeDriverBench.iops_raw", "RawQueue on the mock"},
                {"NvmeQueueDepthBench.iops_safe", "queue code + null device"},
                {"NvmeQueueDepthBench.iops_raw", "RawQueue + null device"},
        };
        for (String[] sr : series) {
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            List<Double> e = new ArrayList<>();
            for (int qd : QUEUE_DEPTHS) {
                Measurement m = results.get(sr[0] + "[qd=" + qd + "]");
                if (m != null) {
                    x.add((double) qd);
                    y.add(m.opsPerSecond() / 1e6);
                    e.add(m.opsPerSecond() * m.relativeError() / 1e6);
                }
            }
            if (!x.isEmpty()) {
                c.addSeries(sr[1], x, y, e);
                any = true;
            }
        }
        if (!any) {
            c.addSeries("not measured", new double[] {1}, new double[] {0});
        }
        return c;
    }

    /** Workqueue latency (µs) per executor. */
    static CategoryChart workqueue(Map<String, Measurement> results) {
        String[][] ex = {
                {"workqueue", "Workqueue"}, {"workqueueHighPri", "Workqueue highPri"},
                {"threadPool", "ThreadPoolExecutor"}, {"threadPoolVirtual", "TPE, virtual threads"},
                {"forkJoin", "ForkJoinPool"},
        };
        List<String> names = new ArrayList<>();
        List<Double> lat = new ArrayList<>();
        List<Double> err = new ArrayList<>();
        List<Double> thr = new ArrayList<>();
        for (String[] e : ex) {
            Measurement l = results.get("WorkqueueBench.latency[executor=" + e[0] + "]");
            Measurement t = results.get("WorkqueueBench.throughput[executor=" + e[0] + "]");
            if (l == null) {
                continue;
            }
            names.add(e[1]);
            lat.add(l.nsPerOp() / 1e3);
            err.add(l.nsPerOpError() / 1e3);
            thr.add(t == null ? 0.0 : t.nsPerOp() / 1e3);
        }
        CategoryChart c = new CategoryChartBuilder().width(900).height(550)
                .title("deferred work, two workers (lower is better)").yAxisTitle("µs").build();
        style(c);
        if (names.isEmpty()) {
            names.add("none");
            lat.add(0.0);
            err.add(0.0);
            thr.add(0.0);
        }
        c.addSeries("enqueue-to-run latency, µs", names, lat, err);
        c.addSeries("throughput: time per item in a batch of 256, µs", names, thr);
        return c;
    }

    private static void style(Chart<?, ?> c) {
        Styler s = c.getStyler();
        s.setLegendPosition(Styler.LegendPosition.InsideNW);
        s.setChartBackgroundColor(java.awt.Color.WHITE);
        s.setAntiAlias(true);
    }
}
