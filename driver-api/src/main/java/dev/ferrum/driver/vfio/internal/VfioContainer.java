package dev.ferrum.driver.vfio.internal;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.VfioException;
import dev.ferrum.driver.vfio.VfioException.Reason;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;
import dev.ferrum.sys.VfioIoctl;
import dev.ferrum.sys.linux.Linux;
import dev.ferrum.sys.linux.vfio_group_status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A VFIO container ({@code /dev/vfio/vfio}): one IOMMU context shared by the groups attached to it, and the DMA
 * address space of all their devices.
 *
 * <p>Set-up order, as the kernel requires: open the container and check the API version and the IOMMU type; for
 * each group: open it, check it is viable, attach it ({@code VFIO_GROUP_SET_CONTAINER}); after the first group,
 * set the IOMMU type ({@code VFIO_SET_IOMMU}: type1v2, else type1; or the no-IOMMU type) and create the address
 * space. Close order is the reverse: remaining DMA mappings are unmapped, groups closed, then the container.
 *
 * <p>Invariants: the IOMMU type is set exactly once, right after the first group is attached; the address space
 * exists from then until close; each group is opened once.
 *
 * <p>Thread-safe (a monitor; set-up is not a hot path).
 */
public final class VfioContainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VfioContainer.class);

    private final int fd;
    private final Path devRoot;
    private final Sysfs sysfs;
    private final boolean noIommu;
    private final Path pagemap;
    private final int iommuType;
    private final String iommuTypeName;
    private final Map<Integer, VfioGroup> groups = new LinkedHashMap<>();
    private DeviceAddressSpace addressSpace;
    private boolean closed;

    private VfioContainer(int fd, Path devRoot, Sysfs sysfs, boolean noIommu, Path pagemap, int type, String name) {
        this.fd = fd;
        this.devRoot = devRoot;
        this.sysfs = sysfs;
        this.noIommu = noIommu;
        this.pagemap = pagemap;
        this.iommuType = type;
        this.iommuTypeName = name;
    }

    /**
     * Opens {@code <devRoot>/vfio/vfio} and picks the IOMMU type.
     *
     * @param noIommu use the unsafe no-IOMMU type (physical addresses from {@code pagemap})
     */
    public static VfioContainer open(Path devRoot, Sysfs sysfs, boolean noIommu, Path pagemap) {
        Path node = devRoot.resolve("vfio/vfio");
        int fd;
        try {
            fd = Syscalls.open(node.toString(), Syscalls.O_RDWR | Syscalls.O_CLOEXEC);
        } catch (SyscallException e) {
            throw VfioErrors.openFailed(node, "the VFIO container", e);
        }
        try {
            int version;
            try {
                version = Syscalls.ioctl(fd, VfioIoctl.VFIO_GET_API_VERSION, 0L, node.toString());
            } catch (SyscallException e) {
                throw new VfioException(Reason.VFIO_UNAVAILABLE, node + " is not a VFIO container node ("
                        + e.getMessage() + ")", e);
            }
            if (version != Linux.VFIO_API_VERSION()) {
                throw new VfioException(Reason.UNSUPPORTED, node + " speaks VFIO API version " + version
                        + "; Ferrum knows version " + Linux.VFIO_API_VERSION());
            }
            int type;
            String name;
            if (noIommu) {
                type = Linux.VFIO_NOIOMMU_IOMMU();
                name = "no-IOMMU";
                if (!hasExtension(fd, type, node)) {
                    throw new VfioException(Reason.UNSUPPORTED, "no-IOMMU mode was requested, but " + node
                            + " does not offer it: the kernel needs CONFIG_VFIO_NOIOMMU=y and `echo 1 > "
                            + sysfs.root().resolve("module/vfio/parameters/enable_unsafe_noiommu_mode")
                            + "` (or vfio.enable_unsafe_noiommu_mode=1 on the kernel command line) before the "
                            + "device is bound to vfio-pci");
                }
            } else if (hasExtension(fd, Linux.VFIO_TYPE1v2_IOMMU(), node)) {
                type = Linux.VFIO_TYPE1v2_IOMMU();
                name = "type1v2";
            } else if (hasExtension(fd, Linux.VFIO_TYPE1_IOMMU(), node)) {
                type = Linux.VFIO_TYPE1_IOMMU();
                name = "type1";
            } else {
                throw new VfioException(Reason.UNSUPPORTED, node + " offers neither the type1v2 nor the type1 IOMMU: "
                        + "load vfio_iommu_type1 (`modprobe vfio_iommu_type1`)");
            }
            return new VfioContainer(fd, devRoot, sysfs, noIommu, pagemap, type, name);
        } catch (RuntimeException e) {
            Syscalls.close(fd);
            throw e;
        }
    }

    private static boolean hasExtension(int fd, int extension, Path node) {
        return Syscalls.ioctl(fd, VfioIoctl.VFIO_CHECK_EXTENSION, extension, node.toString()) > 0;
    }

    /** {@return the group node for group {@code number}: {@code /dev/vfio/N}, or {@code noiommu-N} in no-IOMMU mode} */
    public static Path groupNode(Path devRoot, int number, boolean noIommu) {
        return devRoot.resolve("vfio").resolve((noIommu ? "noiommu-" : "") + number);
    }

    /**
     * {@return IOMMU group {@code number}, opened and attached to this container on first use}
     *
     * @param forDevice the device that needs it, for messages
     */
    public synchronized VfioGroup group(int number, PciAddress forDevice) {
        requireOpen();
        VfioGroup g = groups.get(number);
        if (g != null) {
            return g;
        }
        Path node = groupNode(devRoot, number, noIommu);
        int gfd;
        try {
            gfd = Syscalls.open(node.toString(), Syscalls.O_RDWR | Syscalls.O_CLOEXEC);
        } catch (SyscallException e) {
            throw VfioErrors.openFailed(node, "IOMMU group " + number + " of " + forDevice, e);
        }
        VfioGroup group = new VfioGroup(number, gfd, node);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment status = a.allocate(vfio_group_status.layout());
            vfio_group_status.argsz(status, (int) vfio_group_status.sizeof());
            Syscalls.ioctl(gfd, VfioIoctl.VFIO_GROUP_GET_STATUS, status, node.toString());
            if ((vfio_group_status.flags(status) & Linux.VFIO_GROUP_FLAGS_VIABLE()) == 0) {
                throw VfioErrors.groupNotViable(sysfs, number, forDevice);
            }
            MemorySegment containerFd = a.allocateFrom(ValueLayout.JAVA_INT, fd);
            Syscalls.ioctl(gfd, VfioIoctl.VFIO_GROUP_SET_CONTAINER, containerFd, node.toString());
            if (addressSpace == null) {
                try {
                    Syscalls.ioctl(fd, VfioIoctl.VFIO_SET_IOMMU, iommuType, "VFIO container");
                } catch (SyscallException e) {
                    throw VfioErrors.setIommuFailed(iommuTypeName, e);
                }
                addressSpace = noIommu ? new NoIommuAddressSpace(new Pagemap(pagemap))
                        : new Type1AddressSpace(fd, iommuTypeName, IommuInfo.query(fd, "VFIO container"));
                LOG.debug("VFIO container: IOMMU {} set by group {}; {}", iommuTypeName, number,
                        addressSpace.describe());
            }
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
        groups.put(number, group);
        return group;
    }

    /**
     * {@return the DMA address space shared by the container's devices}
     *
     * @throws IllegalStateException before the first group is attached (the IOMMU type is not set yet)
     */
    public synchronized DeviceAddressSpace addressSpace() {
        if (addressSpace == null) {
            throw new IllegalStateException("the VFIO container has no group yet, so no IOMMU");
        }
        return addressSpace;
    }

    /** {@return the IOMMU type in use: {@code type1v2}, {@code type1} or {@code no-IOMMU}} */
    public String iommuType() {
        return iommuTypeName;
    }

    /** {@return the attached groups, in attach order} */
    public synchronized List<VfioGroup> groups() {
        return new ArrayList<>(groups.values());
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the VFIO container is closed");
        }
    }

    /**
     * Unmaps remaining DMA, closes the groups, then the container. Device file descriptors must be closed before
     * (the backend closes its functions first). Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (addressSpace instanceof Type1AddressSpace t) {
            t.release();
        } else if (addressSpace instanceof NoIommuAddressSpace n) {
            n.release();
        }
        for (VfioGroup g : groups.values()) {
            try {
                g.close();
            } catch (RuntimeException e) {
                LOG.warn("closing VFIO group {} failed: {}", g.node(), e.getMessage());
            }
        }
        groups.clear();
        Syscalls.close(fd);
    }
}
