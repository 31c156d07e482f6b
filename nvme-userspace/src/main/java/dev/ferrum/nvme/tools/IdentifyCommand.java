package dev.ferrum.nvme.tools;

import dev.ferrum.nvme.ControllerInfo;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NamespaceInfo;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeOptions;
import dev.ferrum.nvme.SmartLog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code identify}: controller and namespace data, like {@code nvme id-ctrl} and {@code nvme id-ns}. */
@Command(name = "identify", mixinStandardHelpOptions = true,
        description = "Print Identify Controller, Identify Namespace and SMART data.",
        footer = {"", "Examples:", "  ./ferrum nvme identify", "  ./ferrum nvme identify --mock-block-size 4096",
                "  ./ferrum nvme identify --mock-namespaces 2 -N 2   # only namespace 2",
                "  ./ferrum nvme identify --pci 0000:01:00.0"})
final class IdentifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    TargetOptions target = new TargetOptions();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        // -N names one namespace to print; without it, every active one is printed.
        boolean one = spec.commandLine().getParseResult().hasMatchedOption("-N");
        try (Target t = Target.open(target, NvmeOptions.builder())) {
            print(t, out, one ? List.of(t.ctrl.namespace(target.namespace)) : t.ctrl.namespaces());
        }
        return 0;
    }

    static void print(Target t, PrintWriter out) {
        print(t, out, t.ctrl.namespaces());
    }

    private static void print(Target t, PrintWriter out, Collection<Namespace> namespaces) {
        NvmeController c = t.ctrl;
        ControllerInfo i = c.info();
        NvmeController.Capabilities cap = c.capabilities();
        out.println(t.describe());
        out.printf("  vid       : 0x%04x%n", i.vendorId());
        out.printf("  ssvid     : 0x%04x%n", i.subsystemVendorId());
        out.printf("  sn        : %s%n", i.serialNumber());
        out.printf("  mn        : %s%n", i.modelNumber());
        out.printf("  fr        : %s%n", i.firmwareRevision());
        out.printf("  ver       : %s%n", i.versionString());
        out.printf("  cntlid    : %d%n", i.controllerId());
        out.printf("  mdts      : %d (%s)%n", i.mdts(), i.mdts() == 0 ? "no limit"
                : (c.maxTransferBytes() >> 10) + " KiB per command");
        out.printf("  nn        : %d%n", i.namespaceCount());
        out.printf("  oncs      : 0x%04x (write zeroes: %s, deallocate: %s)%n", i.oncs(),
                yes(i.supportsWriteZeroes()), yes(i.supportsDeallocate()));
        out.printf("  vwc       : %s%n", yes(i.volatileWriteCache()));
        out.printf("  acl/aerl  : %d/%d%n", i.abortLimit(), i.asyncEventLimit());
        out.printf("  sqes/cqes : 0x%02x/0x%02x%n", i.sqes(), i.cqes());
        if (!i.subsystemNqn().isEmpty()) {
            out.printf("  subnqn    : %s%n", i.subsystemNqn());
        }
        out.printf("  CAP       : 0x%016x (MQES %d, DSTRD %d, TO %d ms, MPS %d..%d)%n", cap.raw(),
                cap.maxQueueEntries(), cap.doorbellStride(), cap.timeoutMillis(), cap.minPageSize(),
                cap.maxPageSize());
        out.printf("  I/O queues: %d granted, %d MSI-X vector(s)%n", c.maxQueuePairs(), c.interruptVectors());
        for (Namespace ns : namespaces) {
            NamespaceInfo n = ns.info();
            out.printf("namespace %d%n", n.nsid());
            out.printf("  nsze/ncap/nuse : %d/%d/%d blocks (%.2f GiB)%n", n.size(), n.capacity(), n.utilization(),
                    n.sizeBytes() / (double) (1L << 30));
            for (int f = 0; f < n.formats().size(); f++) {
                NamespaceInfo.LbaFormat lf = n.formats().get(f);
                out.printf("  lbaf %2d : ms:%-3d lbads:%-2d rp:%d%s%n", f, lf.metadataSize(),
                        Integer.numberOfTrailingZeros(Math.max(1, lf.dataSize())), lf.relativePerformance(),
                        f == n.formatIndex() ? " (in use)" : "");
            }
            out.printf("  nguid   : %s%n  eui64   : %s%n", n.nguid(), n.eui64());
        }
        SmartLog s = c.smartLog();
        out.println("smart");
        out.printf("  critical warning : 0x%02x%n", s.criticalWarning());
        out.printf("  temperature      : %d K (%d C)%n", s.temperatureKelvin(), s.temperatureKelvin() - 273);
        out.printf("  available spare  : %d%% (threshold %d%%)%n", s.availableSpare(), s.spareThreshold());
        out.printf("  host reads/writes: %d/%d commands%n", s.hostReads(), s.hostWrites());
        out.printf("  data read/written: %d/%d units of 512,000 B%n", s.dataUnitsRead(), s.dataUnitsWritten());
        out.printf("  power cycles     : %d, unsafe shutdowns: %d, media errors: %d%n", s.powerCycles(),
                s.unsafeShutdowns(), s.mediaErrors());
    }

    private static String yes(boolean b) {
        return b ? "yes" : "no";
    }
}
