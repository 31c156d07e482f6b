package dev.ferrum.bench;

import dev.ferrum.bench.report.ReportGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CI smoke run: every benchmark of the suite runs once, for one 20 ms iteration in this JVM (the "smoke"
 * profile of {@code ./ferrum bench --smoke}), without failing, and the report generator turns the results into a
 * report with charts. No timing is asserted: only that each benchmark produced a positive score.
 */
class BenchSmokeTest {

    @Test
    void everyBenchmarkRunsAndTheReportIsWritten(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("jmh-result.json");
        List<String> includes = List.of("dev\\.ferrum\\.bench\\..*");
        Collection<RunResult> results = new Runner(BenchMain.options(BenchMain.Profile.of("smoke"), includes, json)
                .verbosity(VerboseMode.SILENT).build()).run();

        Set<String> expected = new TreeSet<>();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        for (BenchmarkListEntry e : BenchmarkList.defaultList().find(OutputFormatFactory.createFormatInstance(quiet,
                VerboseMode.SILENT), includes, List.of())) {
            expected.add(e.getUsername());
        }
        Set<String> ran = new TreeSet<>();
        for (RunResult r : results) {
            ran.add(r.getParams().getBenchmark());
            double score = r.getPrimaryResult().getScore();
            assertTrue(score > 0 && Double.isFinite(score), r.getParams().id() + " scored " + score);
        }
        assertEquals(expected, ran, "every benchmark of the suite ran");
        assertTrue(expected.size() >= 40, "the suite has its benchmarks: " + expected);

        ReportGenerator.main(new String[] {"--jmh", json.toString(), "--out", dir.toString(), "--note", "smoke"});
        String md = Files.readString(dir.resolve("REPORT.md"));
        assertTrue(md.contains("| 1 | MMIO registers | read32 (acquire) |"), md);
        for (String png : List.of("ratios.png", "micro.png", "nvme.png", "nvme-qd.png", "workqueue.png")) {
            assertTrue(Files.size(dir.resolve(png)) > 1000, png + " was drawn");
        }
    }
}
