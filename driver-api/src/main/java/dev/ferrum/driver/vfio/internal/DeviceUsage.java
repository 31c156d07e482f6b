package dev.ferrum.driver.vfio.internal;

import dev.ferrum.driver.pci.PciAddress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What the host uses a PCI function for: its block devices (disks and partitions below it in sysfs, including NVMe
 * namespaces and, with native NVMe multipath, the namespace heads its paths belong to) and whether any of them is
 * mounted ({@code /proc/mounts}), used as swap ({@code /proc/swaps}) or held by another block device
 * ({@code holders/}: LVM and other device-mapper targets, md RAID). Taking such a device away from its kernel
 * driver would pull storage out from under the running system.
 *
 * <p>Invariants: read-only; the sysfs walk follows no symbolic links (sysfs has cycles) and is depth-bounded.
 */
public final class DeviceUsage {
    private static final int MAX_DEPTH = 8;
    private static final Pattern NVME_CONTROLLER = Pattern.compile("nvme\\d+");
    private static final Pattern NVME_NAMESPACE = Pattern.compile("nvme\\d+n\\d+");
    private static final Pattern NVME_PATH = Pattern.compile("nvme\\d+c\\d+n\\d+");

    /** A block device of the function: its name (e.g. {@code nvme0n1p1}) and its sysfs directory. */
    public record BlockDevice(String name, Path dir) {}

    private DeviceUsage() {}

    /** {@return the disks and partitions that belong to {@code address}, disks before their partitions} */
    public static List<BlockDevice> blockDevices(Sysfs sysfs, PciAddress address) {
        Path dev = sysfs.deviceDir(address);
        try {
            dev = dev.toRealPath();
        } catch (IOException e) {
            return List.of();
        }
        Set<Path> disks = new LinkedHashSet<>();
        List<String> paths = new ArrayList<>();
        try {
            Files.walkFileTree(dev, EnumSet.noneOf(java.nio.file.FileVisitOption.class), MAX_DEPTH,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                            String name = dir.getFileName().toString();
                            Path parent = dir.getParent();
                            String parentName = parent == null || parent.getFileName() == null ? ""
                                    : parent.getFileName().toString();
                            if (parentName.equals("block")
                                    || NVME_NAMESPACE.matcher(name).matches()
                                    && NVME_CONTROLLER.matcher(parentName).matches()) {
                                disks.add(dir);
                                return FileVisitResult.SKIP_SUBTREE;
                            }
                            if (NVME_PATH.matcher(name).matches()) {
                                paths.add(name);
                                return FileVisitResult.SKIP_SUBTREE;
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) {
                            return FileVisitResult.CONTINUE;
                        }
                    });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot walk " + dev, e);
        }
        if (!paths.isEmpty()) {
            disks.addAll(multipathHeads(sysfs, paths));
        }
        List<BlockDevice> result = new ArrayList<>();
        for (Path disk : disks) {
            result.add(new BlockDevice(disk.getFileName().toString(), disk));
            for (Path part : subdirectories(disk)) {
                if (Files.exists(part.resolve("partition"))) {
                    result.add(new BlockDevice(part.getFileName().toString(), part));
                }
            }
        }
        return result;
    }

    /** With native NVMe multipath the disk is a head under /sys/block whose {@code multipath/} lists our paths. */
    private static List<Path> multipathHeads(Sysfs sysfs, List<String> paths) {
        List<Path> heads = new ArrayList<>();
        for (Path head : subdirectories(sysfs.root().resolve("block"))) {
            for (String p : paths) {
                if (Files.exists(head.resolve("multipath").resolve(p))) {
                    try {
                        heads.add(head.toRealPath());
                    } catch (IOException e) {
                        heads.add(head);
                    }
                    break;
                }
            }
        }
        return heads;
    }

    private static List<Path> subdirectories(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /**
     * {@return why the block devices must not be taken away, one sentence each; empty if they are unused}
     *
     * @param proc the proc root ({@code /proc}), for {@code mounts} and {@code swaps}
     */
    public static List<String> uses(Sysfs sysfs, Path proc, List<BlockDevice> devices) {
        List<String> uses = new ArrayList<>();
        if (devices.isEmpty()) {
            return uses;
        }
        Set<String> nodes = new LinkedHashSet<>();
        devices.forEach(d -> nodes.add("/dev/" + d.name()));
        for (String line : lines(proc.resolve("mounts"), true)) {
            String[] f = line.split(" ");
            if (f.length >= 3 && nodes.contains(f[0])) {
                uses.add(f[0] + " is mounted on " + unescape(f[1]) + " (" + f[2] + "): unmount it first (`umount "
                        + unescape(f[1]) + "`)");
            }
        }
        List<String> swaps = lines(proc.resolve("swaps"), false);
        for (String line : swaps.subList(Math.min(1, swaps.size()), swaps.size())) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 1 && nodes.contains(f[0])) {
                uses.add(f[0] + " is in use as swap: `swapoff " + f[0] + "` first");
            }
        }
        for (BlockDevice d : devices) {
            for (Path holder : subdirectoriesOrLinks(d.dir().resolve("holders"))) {
                uses.add(d.name() + " is held by " + describeHolder(sysfs, holder.getFileName().toString()));
            }
        }
        return uses;
    }

    private static String describeHolder(Sysfs sysfs, String holder) {
        if (holder.startsWith("dm-")) {
            String dmName = Sysfs.read(sysfs.root().resolve("block").resolve(holder).resolve("dm/name")).orElse("?");
            return holder + " (device-mapper '" + dmName + "': LVM, dm-crypt or multipath): deactivate it first, e.g. "
                    + "`vgchange -an <vg>`, `cryptsetup close " + dmName + "` or `dmsetup remove " + dmName + "`";
        }
        if (holder.startsWith("md")) {
            return holder + " (software RAID): stop it first (`mdadm --stop /dev/" + holder + "`)";
        }
        return holder + ": release it first";
    }

    private static List<Path> subdirectoriesOrLinks(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** @param required whether a missing file is an error (it is for mounts: no answer is not "unused") */
    private static List<String> lines(Path file, boolean required) {
        try {
            return Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            if (required) {
                throw new UncheckedIOException("cannot check whether the device is in use: " + file + " is missing", e);
            }
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " to check whether the device is in use", e);
        }
    }

    /** /proc/mounts escapes space, tab, newline and backslash as octal {@code \ooo}. */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 4 <= s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
