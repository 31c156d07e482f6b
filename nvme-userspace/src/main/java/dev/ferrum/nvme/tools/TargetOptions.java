package dev.ferrum.nvme.tools;

import picocli.CommandLine.Option;

/** Options shared by the tools: which controller (a real one through VFIO, or the mock), and the mock's shape. */
final class TargetOptions {
    @Option(names = "--pci", paramLabel = "BDF",
            description = "Drive the real NVMe controller at this PCI address through VFIO (e.g. 0000:01:00.0). "
                    + "It must be bound to vfio-pci first: ./ferrum nvme setup --pci BDF. "
                    + "Without --pci the tools run on the mock NVMe controller.")
    String pci;

    @Option(names = {"-N", "--namespace"}, defaultValue = "1", description = "Namespace ID (default: ${DEFAULT-VALUE}).")
    int namespace;

    @Option(names = "--no-interrupts", description = "Do not use MSI-X interrupts (polling only).")
    boolean noInterrupts;

    @Option(names = "--mock-block-size", defaultValue = "512",
            description = "Mock controller: logical block size, 512 or 4096 (default: ${DEFAULT-VALUE}).")
    int mockBlockSize;

    @Option(names = "--mock-size", defaultValue = "1G",
            description = "Mock controller: namespace size, e.g. 256M, 4G (default: ${DEFAULT-VALUE}). "
                    + "Memory is allocated only for blocks written.")
    String mockSize;

    @Option(names = "--mock-namespaces", defaultValue = "1",
            description = "Mock controller: number of namespaces (default: ${DEFAULT-VALUE}).")
    int mockNamespaces;

    @Option(names = "--mock-mdts", defaultValue = "5",
            description = "Mock controller: MDTS, maximum transfer 2^n x 4 KiB (default: ${DEFAULT-VALUE} = 128 KiB; "
                    + "0 = unlimited).")
    int mockMdts;

    @Option(names = "--mock-null", description = "Mock controller: null mode, no data is stored or copied "
            + "(for measuring driver overhead).")
    boolean mockNull;

    @Option(names = "--mock-file", paramLabel = "PATH",
            description = "Mock controller: back namespace 1 by this file instead of memory.")
    String mockFile;

    long mockSizeBytes() {
        return parseSize(mockSize);
    }

    static long parseSize(String text) {
        String t = text.trim().toUpperCase();
        long mult = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
            mult = switch (last) {
                case 'K' -> 1L << 10;
                case 'M' -> 1L << 20;
                case 'G' -> 1L << 30;
                default -> 1L << 40;
            };
            t = t.substring(0, t.length() - 1);
        }
        try {
            long v = Long.parseLong(t);
            if (v <= 0) {
                throw new NumberFormatException();
            }
            return Math.multiplyExact(v, mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size: use a positive number with an optional "
                    + "K, M, G or T suffix, e.g. 512M");
        }
    }
}
