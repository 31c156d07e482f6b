package dev.ferrum.driver.vfio;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The environment every VFIO test relies on, as set up by the test VM (native/vm/ferrum-vm): QEMU's emulated
 * NVMe controller bound to vfio-pci, alone in an IOMMU group whose VFIO group node exists.
 *
 * <p>Tagged {@code vfio}: the host's surefire run excludes it; native/vm/run-vfio-tests.sh runs it in the guest.
 * Run anywhere else it fails (the variables are missing) rather than skipping, so a mis-wired VM stage cannot
 * pass silently.
 */
@Tag("vfio")
class VfioVmEnvironmentTest {

    private static final Path PCI_DEVICES = Path.of("/sys/bus/pci/devices");
    private static final String NVME_CLASS = "0x010802";
    /** S_IFMT and S_IFCHR of st_mode. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFCHR = 0020000;

    private static String requiredEnv(String name) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            fail(name + " is not set: VFIO tests must run inside the Ferrum test VM"
                    + " (native/vm/run-vfio-tests.sh or ./ferrum vm-test), which exports it");
        }
        return value;
    }

    private static Path nvmeFunction() {
        String bdf = requiredEnv("FERRUM_VFIO_BDF");
        assertTrue(bdf.matches("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]"),
                "FERRUM_VFIO_BDF='" + bdf + "' is not a PCI address of the form 0000:00:03.0");
        Path function = PCI_DEVICES.resolve(bdf);
        assertTrue(Files.isDirectory(function), "FERRUM_VFIO_BDF=" + bdf + " but " + function + " does not exist");
        return function;
    }

    private static String linkTarget(Path link) throws IOException {
        assertTrue(Files.isSymbolicLink(link), link + " is not a symbolic link");
        return Files.readSymbolicLink(link).getFileName().toString();
    }

    private static void assertCharacterDevice(Path node) throws IOException {
        assertTrue(Files.exists(node), node + " does not exist");
        int mode = (Integer) Files.getAttribute(node, "unix:mode");
        assertEquals(S_IFCHR, mode & S_IFMT, node + " is not a character device (mode " + Integer.toOctalString(mode) + ")");
    }

    @Test
    void theVfioFunctionIsAnNvmeController() throws IOException {
        Path function = nvmeFunction();
        assertEquals(NVME_CLASS, Files.readString(function.resolve("class")).strip(),
                function + "/class: the function named by FERRUM_VFIO_BDF is not an NVMe controller");
    }

    @Test
    void theVfioFunctionIsBoundToVfioPci() throws IOException {
        Path function = nvmeFunction();
        assertEquals("vfio-pci", linkTarget(function.resolve("driver")), function + "/driver");
    }

    @Test
    void theIommuGroupMatchesAndItsNodesExist() throws IOException {
        Path function = nvmeFunction();
        String group = requiredEnv("FERRUM_VFIO_GROUP");
        assertEquals(group, linkTarget(function.resolve("iommu_group")),
                function + "/iommu_group does not name FERRUM_VFIO_GROUP");
        assertCharacterDevice(Path.of("/dev/vfio", group));
        assertCharacterDevice(Path.of("/dev/vfio/vfio"));
    }

    @Test
    void theKernelLogIsReadableAndShowsTheIommuWithInterruptRemapping() throws IOException, InterruptedException {
        // IOMMU fault tests read the guest's kernel log for "DMAR: [DMA Write" lines: it must be readable, and
        // the IOMMU must be on with interrupt remapping (without it VFIO_SET_IOMMU fails with EPERM).
        requiredEnv("FERRUM_VM");
        Path log = Files.createTempFile("ferrum-dmesg", ".txt");
        try {
            Process dmesg = new ProcessBuilder("dmesg").redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertTrue(dmesg.waitFor(60, TimeUnit.SECONDS), "dmesg did not finish within 60 s");
            String text = Files.readString(log);
            assertEquals(0, dmesg.exitValue(), "dmesg failed: " + text);
            assertTrue(text.contains("DMAR: IOMMU enabled"), "the kernel log does not say 'DMAR: IOMMU enabled'");
            assertTrue(text.contains("DMAR-IR: Enabled IRQ remapping"),
                    "the kernel log does not say 'DMAR-IR: Enabled IRQ remapping'");
        } finally {
            Files.deleteIfExists(log);
        }
    }

    @Test
    void everyFunctionOfTheGroupIsBoundToVfioPci() throws IOException {
        // VFIO_GROUP_GET_STATUS reports a group viable only if all its devices are bound to a VFIO driver.
        Path members = nvmeFunction().resolve("iommu_group").resolve("devices");
        List<Path> functions;
        try (Stream<Path> list = Files.list(members)) {
            functions = list.toList();
        }
        assertFalse(functions.isEmpty(), members + " is empty");
        for (Path member : functions) {
            assertEquals("vfio-pci", linkTarget(member.resolve("driver")),
                    member + " shares the IOMMU group but is not bound to vfio-pci");
        }
    }
}
