package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.internal.VfioErrors;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.testsupport.ReadmeTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The VFIO rows of the README's bad-input table, produced against a fake sysfs/proc/dev tree ({@link FakeHost})
 * rather than real hardware. Paths under the fake tree are shown as they are on a real host.
 */
class VfioBadInputTableTest {
    private static final String BDF = "0000:01:00.0";
    private static final PciAddress A = PciAddress.parse(BDF);
    /** Checks the README after the class: the rows recorded here, and (after a full run) that it has no others. */
    @RegisterExtension
    static final ReadmeTable TABLE = new ReadmeTable(VfioBadInputTableTest.class);

    @TempDir
    Path root;

    /** The error as a user on a real host would see it: the fake tree's location removed from paths. */
    private VfioException onRealHost(VfioException e) {
        return new VfioException(e.reason(), e.getMessage().replace(root.toString(), ""), null);
    }

    private VfioException open(FakeHost host) {
        return onRealHost(assertThrows(VfioException.class,
                () -> VfioBackend.builder().device(A).sysfsRoot(host.sys).devRoot(host.dev).open()));
    }

    @Test
    void deviceNotPresent() {
        TABLE.row("device gone (VFIO)", "`VfioBackend.open` of a function that is not (or no longer) there",
                open(new FakeHost(root)));
    }

    @Test
    void unboundDevice() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "nvme").group(BDF, 7).driver("vfio-pci");
        TABLE.row("unbound device", "`VfioBackend.open` of a controller still bound to the kernel's nvme driver",
                open(host));
    }

    @Test
    void wrongPermissions() {
        // Root opens any file, so the fake tree cannot refuse: this is the message the backend builds from EACCES.
        VfioException e = VfioErrors.openFailed(Path.of("/dev/vfio/7"), "IOMMU group 7 of " + A,
                new SyscallException("open(/dev/vfio/7)", Errno.EACCES));
        String user = System.getProperty("user.name");
        TABLE.row("wrong permissions", "`VfioBackend.open` as a user who may not open `/dev/vfio/7`",
                new VfioException(e.reason(), e.getMessage().replace("chown " + user + " ", "chown $USER ")
                        .replace("OWNER=\"" + user + "\"", "OWNER=\"$USER\"")));
    }

    @Test
    void mountedDeviceGivenToSetup() {
        FakeHost host = new FakeHost(root).nvme(BDF).bind(BDF, "nvme").group(BDF, 7).driver("vfio-pci")
                .namespace(BDF, 0, 1, 1).mounted("/dev/nvme0n1p1", "/home", "ext4");
        TABLE.row("mounted device given to `setup`", "`./ferrum nvme setup --pci 0000:01:00.0` while "
                + "`/dev/nvme0n1p1` is mounted", onRealHost(assertThrows(VfioException.class, () -> host.setup().bind(A))));
    }
}
