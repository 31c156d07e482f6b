package dev.ferrum.nvme.tools;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.VfioSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code setup}: bind a named device to vfio-pci and back, like SPDK's setup.sh. */
@Command(name = "setup", mixinStandardHelpOptions = true,
        description = "Bind the NVMe controller at --pci to vfio-pci so Ferrum can drive it, or give it back to "
                + "its kernel driver with --reset. Refuses a device that is not named explicitly, or whose "
                + "namespaces are mounted, used as swap, or held by LVM/md. Needs root.",
        footer = {"", "Examples:", "  ./ferrum nvme setup --pci 0000:01:00.0            # bind to vfio-pci",
                "  ./ferrum nvme setup --pci 0000:01:00.0 --status   # show driver, IOMMU group, users",
                "  ./ferrum nvme setup --pci 0000:01:00.0 --reset    # back to the kernel's nvme driver"})
final class SetupCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--pci", required = true, paramLabel = "BDF",
            description = "The device, e.g. 0000:01:00.0 (lspci -D -d ::0108 lists NVMe controllers).")
    String pci;

    @Option(names = "--reset", description = "Unbind from vfio-pci and let the kernel's driver take it back.")
    boolean reset;

    @Option(names = "--status", description = "Only print the device's current state.")
    boolean status;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        VfioSetup setup = VfioSetup.create();
        PciAddress address = PciAddress.parse(pci);
        VfioSetup.Status s = status ? setup.status(address) : reset ? setup.unbind(address) : setup.bind(address);
        out.println(s.describe());
        return 0;
    }
}
