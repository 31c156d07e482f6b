package dev.ferrum.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the report says about the machine it was generated on (the machine the benchmarks ran on). */
final class MachineInfo {
    private MachineInfo() {}

    /** {@return the CPU model from /proc/cpuinfo, or the architecture if it cannot be read} */
    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return System.getProperty("os.arch");
    }

    /** {@return the number of logical CPUs this JVM may use} */
    static int cpuCount() {
        return Runtime.getRuntime().availableProcessors();
    }
}
