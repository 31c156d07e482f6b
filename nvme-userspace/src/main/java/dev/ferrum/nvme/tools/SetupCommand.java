package dev.ferrum.nvme.tools;

import dev.ferrum.driver.vfio.VfioSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;
import java.util.function.Supplier;

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

    /** The host's sysfs, proc and dev; a test points it at a copy. */
    Supplier<VfioSetup> setups = VfioSetup::create;

    @Override
    public Integer call() {
        if (status && reset) {
            throw new ParameterException(spec.commandLine(), "--status and --reset exclude each other");
        }
        VfioSetup setup = setups.get();
        // The String forms refuse "all" and other wildcards with their own message before parsing the address.
        VfioSetup.Status s = status ? setup.status(pci) : reset ? setup.unbind(pci) : setup.bind(pci);
        System.out.println(s.describe());
        return 0;
    }
}
