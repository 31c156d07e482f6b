package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.sys.Syscalls;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * The child JVM of {@link VfioUnprivilegedVmTest}: started as an unprivileged user, it opens the VM's device through
 * the public API and reports, one line each on stdout, who it runs as and what happened:
 * {@code CHILD uid <real uid>}, {@code CHILD capeff <hex>}, {@code CHILD memlock <soft RLIMIT_MEMLOCK>} and
 * {@code RESULT ok} or {@code RESULT threw <class> <VfioException reason or -> <message, Base64>}.
 *
 * <p>Arguments: the PCI address, then {@code open} (only {@code VfioBackend.open}) or {@code dma BYTES} (also bind
 * {@link VfioVm.CapturingDriver} and allocate one buffer of BYTES from {@code PciDevice.dmaPool()}).
 */
final class UnprivilegedVfioChild {
    private UnprivilegedVfioChild() {}

    public static void main(String[] args) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                System.out.println("CHILD uid " + line.split("\\s+")[1]);
            } else if (line.startsWith("CapEff:")) {
                System.out.println("CHILD capeff " + line.split("\\s+")[1]);
            }
        }
        System.out.println("CHILD memlock " + Syscalls.getrlimit(Syscalls.RLIMIT_MEMLOCK)[0]);
        PciAddress bdf = PciAddress.parse(args[0]);
        try {
            if (args[1].equals("open")) {
                VfioBackend.open(bdf).close();
            } else {
                allocate(bdf, Long.parseLong(args[2]));
            }
            System.out.println("RESULT ok");
        } catch (RuntimeException e) {
            String reason = e instanceof VfioException v ? v.reason().name() : "-";
            String message = Base64.getEncoder().encodeToString(
                    String.valueOf(e.getMessage()).getBytes(StandardCharsets.UTF_8));
            System.out.println("RESULT threw " + e.getClass().getName() + " " + reason + " " + message);
            e.printStackTrace(System.out);
        }
    }

    private static void allocate(PciAddress bdf, long bytes) {
        try (PciBus bus = PciBus.open(VfioBackend.open(bdf))) {
            VfioVm.CapturingDriver driver = new VfioVm.CapturingDriver();
            if (bus.register(driver).size() != 1) {
                throw new AssertionError("the child's driver did not bind " + bdf);
            }
            DmaBuffer buffer = driver.device.dmaPool().allocate(bytes);
            buffer.close();
        }
    }
}
