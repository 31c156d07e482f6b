package dev.ferrum.driver.vfio;

import dev.ferrum.memory.DmaPool;
import dev.ferrum.sys.Syscalls;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The user-facing VFIO errors of an unprivileged process, provoked for real in the test VM: a child JVM runs as
 * {@code nobody} (uid 65534, no capabilities, via util-linux {@code setpriv}; its {@code RLIMIT_MEMLOCK} set with
 * {@code prlimit}) and goes through the public API ({@link UnprivilegedVfioChild}); this test asserts the exception
 * it reports: its class, {@link VfioException#reason()} and the message's facts and fix.
 *
 * <p>The child cannot read the host's {@code ~/.m2} (root's, mode 0750, shared read-only over 9p), so its class path
 * is a copy, in the guest's {@code /tmp}, of the few class path entries it needs.
 *
 * <p>Not covered: a group that is not viable. In the VM each NVMe function is alone in its IOMMU group, bound to
 * vfio-pci, and the guest has no other driver that would bind it; that case is tested against a fake sysfs only
 * ({@code VfioBackendErrorsTest}).
 */
@Tag("vfio")
// It chowns /dev/vfio/N and runs a JVM as nobody: fine in the throwaway VM, never on a user's machine, whatever
// runs the vfio tests there (./ferrum vfio-test, run-vfio-tests.sh --host, an IDE).
@EnabledIfEnvironmentVariable(named = "FERRUM_VM", matches = "1")
class VfioUnprivilegedVmTest {
    private static final int NOBODY = 65534;
    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    private static final Path PRLIMIT = Path.of("/usr/bin/prlimit");
    private static final int CHILD_SECONDS = 180;
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    private static Path dir;
    private static String classPath;

    @BeforeAll
    static void copyTheChildsClassPath() throws IOException {
        for (Path tool : List.of(SETPRIV, PRLIMIT)) {
            assertTrue(Files.isExecutable(tool), tool + " is missing: this test needs util-linux's setpriv and "
                    + "prlimit (apt-get install util-linux) on the host whose root the VM shares");
        }
        dir = Files.createTempDirectory("ferrum-unprivileged");
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (Class<?> c : List.of(UnprivilegedVfioChild.class, VfioBackend.class, DmaPool.class, Syscalls.class,
                org.slf4j.Logger.class, classNamed("org.slf4j.simple.SimpleServiceProvider"),
                // VfioVm, whose CapturingDriver the child binds, uses JUnit's assertions.
                org.junit.jupiter.api.Assertions.class, org.opentest4j.AssertionFailedError.class)) {
            Path from = Path.of(c.getProtectionDomain().getCodeSource().getLocation().getPath());
            Path to = dir.resolve("cp" + i++ + (Files.isDirectory(from) ? "" : ".jar"));
            copy(from, to);
            entries.add(to.toString());
        }
        // Readable by everyone: the directory was created 0700 for root.
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                        Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        classPath = String.join(":", entries);
    }

    @AfterAll
    static void deleteTheCopy() throws IOException {
        if (dir != null) {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    @Test
    void aUserWhoMayNotOpenTheGroupNodeIsToldToChownItOrAddAUdevRule() throws Exception {
        Path container = Path.of("/dev/vfio/vfio");
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(container)),
                "the container node is open to everyone, so the group node is what refuses the user");
        Path node = groupNode();
        try (NodeOwner owner = NodeOwner.set(node, 0, "rw-------")) {
            Child c = runChild(null, "open");
            assertEquals(VfioException.class.getName(), c.exception(), c.output());
            assertEquals("PERMISSION_DENIED", c.reason(), c.output());
            assertMentions(c, "no permission to open " + node + " (IOMMU group " + VfioVm.group() + " of "
                    + VfioVm.bdf(), "EACCES", "`sudo chown nobody " + node + "`", "/etc/udev/rules.d/",
                    "OWNER=\"nobody\"", "ulimit -l", "docs/vfio-box.md");
        }
    }

    @Test
    void aMemlockLimitBelowOneBufferIsAVfioExceptionNamingTheLimitAndTheFix() throws Exception {
        try (NodeOwner owner = NodeOwner.set(groupNode(), NOBODY, "rw-------")) {
            Child c = runChild(64 * KIB, "dma", String.valueOf(MIB));
            assertEquals(VfioException.class.getName(), c.exception(), c.output());
            assertEquals("MEMLOCK_LIMIT", c.reason(), c.output());
            assertMentions(c, "1024 KiB", "RLIMIT_MEMLOCK", "64 KiB", "ulimit -l unlimited", "limits.conf",
                    "Locked memory");
        }
    }

    @Test
    void aMemlockLimitThatCoversTheMlockButNotTheVfioPinningFailsInMapDma() throws Exception {
        // The pool locks 1 MiB (mlock), then VFIO_IOMMU_MAP_DMA pins the same 1 MiB and counts it again.
        try (NodeOwner owner = NodeOwner.set(groupNode(), NOBODY, "rw-------")) {
            Child c = runChild(MIB + MIB / 2, "dma", String.valueOf(MIB));
            assertEquals(VfioException.class.getName(), c.exception(), c.output());
            assertEquals("MEMLOCK_LIMIT", c.reason(), c.output());
            assertMentions(c, "VFIO_IOMMU_MAP_DMA of 1024 KiB", "ENOMEM", "RLIMIT_MEMLOCK", "1536 KiB",
                    "twice the DMA memory", "ulimit -l unlimited");
        }
    }

    @Test
    void theSameAllocationSucceedsWithTwiceTheBufferAsMemlockLimit() throws Exception {
        try (NodeOwner owner = NodeOwner.set(groupNode(), NOBODY, "rw-------")) {
            Child c = runChild(2 * MIB + 64 * KIB, "dma", String.valueOf(MIB));
            assertEquals("ok", c.result(), c.output());
        }
    }

    private static Path groupNode() {
        return Path.of("/dev/vfio/" + VfioVm.group());
    }

    private static void assertMentions(Child c, String... facts) {
        for (String f : facts) {
            assertTrue(c.message().contains(f), "the message mentions '" + f + "': " + c.message());
        }
    }

    /**
     * Runs {@link UnprivilegedVfioChild} as {@code nobody} without capabilities, with {@code memlock} bytes as its
     * soft and hard {@code RLIMIT_MEMLOCK} (null: inherited), and checks that it really ran so.
     */
    private static Child runChild(Long memlock, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (memlock != null) {
            cmd.addAll(List.of(PRLIMIT.toString(), "--memlock=" + memlock + ":" + memlock));
        }
        cmd.addAll(List.of(SETPRIV.toString(), "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-XX:-UsePerfData", "-Xmx64m", "-cp", classPath, UnprivilegedVfioChild.class.getName(),
                VfioVm.bdf().toString()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("child.out");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        if (!p.waitFor(CHILD_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            fail("the child did not finish within " + CHILD_SECONDS + " s: " + cmd + "\n" + Files.readString(out));
        }
        String output = Files.readString(out);
        assertEquals(0, p.exitValue(), "exit status of " + cmd + "\n" + output);
        Child c = Child.parse(output);
        assertEquals(String.valueOf(NOBODY), c.line("CHILD uid"), output);
        assertEquals(0, Long.parseLong(c.line("CHILD capeff"), 16), "the child has no capabilities\n" + output);
        assertEquals(String.valueOf(memlock == null ? Syscalls.getrlimit(Syscalls.RLIMIT_MEMLOCK)[0] : memlock),
                c.line("CHILD memlock"), output);
        return c;
    }

    /** What the child printed. */
    private record Child(String output, List<String> lines) {
        static Child parse(String output) {
            return new Child(output, output.lines().toList());
        }

        String line(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix + " ")).findFirst()
                    .map(l -> l.substring(prefix.length() + 1))
                    .orElseGet(() -> fail("the child printed no '" + prefix + "' line:\n" + output));
        }

        String result() {
            return line("RESULT");
        }

        private String[] threw() {
            String[] f = result().split(" ");
            if (f.length != 4 || !f[0].equals("threw")) {
                fail("the child did not report an exception:\n" + output);
            }
            return f;
        }

        String exception() {
            return threw()[1];
        }

        String reason() {
            return threw()[2];
        }

        String message() {
            return new String(Base64.getDecoder().decode(threw()[3]), StandardCharsets.UTF_8);
        }
    }

    /** A device node's owner and mode, changed for a test and restored on close. */
    private record NodeOwner(Path node, int uid, int gid, String mode) implements AutoCloseable {
        static NodeOwner set(Path node, int owner, String mode) throws IOException {
            assertTrue(Files.exists(node), node + " exists (the VM binds the device to vfio-pci)");
            NodeOwner old = new NodeOwner(node, (Integer) Files.getAttribute(node, "unix:uid"),
                    (Integer) Files.getAttribute(node, "unix:gid"),
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(node)));
            try {
                Files.setAttribute(node, "unix:uid", owner);
                Files.setAttribute(node, "unix:gid", owner);
                Files.setPosixFilePermissions(node, PosixFilePermissions.fromString(mode));
            } catch (IOException | RuntimeException e) {
                old.close();
                throw e;
            }
            return old;
        }

        @Override
        public void close() throws IOException {
            Files.setAttribute(node, "unix:uid", uid);
            Files.setAttribute(node, "unix:gid", gid);
            Files.setPosixFilePermissions(node, PosixFilePermissions.fromString(mode));
        }
    }

    private static Class<?> classNamed(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            return fail(name + " is not on the test class path", e);
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        if (!Files.isDirectory(from)) {
            Files.copy(from, to);
            return;
        }
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
