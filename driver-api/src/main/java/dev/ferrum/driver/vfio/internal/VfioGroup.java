package dev.ferrum.driver.vfio.internal;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.vfio.VfioException;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;
import dev.ferrum.sys.VfioIoctl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * An open VFIO group ({@code /dev/vfio/N}), attached to a {@link VfioContainer}: hands out device file
 * descriptors by PCI address.
 *
 * <p>Invariants: the file descriptor is open until {@link #close()}, which runs once, after the group's devices
 * were closed (the container closes groups after functions).
 */
public final class VfioGroup {
    private final int number;
    private final int fd;
    private final Path node;
    private boolean closed;

    VfioGroup(int number, int fd, Path node) {
        this.number = number;
        this.fd = fd;
        this.node = node;
    }

    /** {@return the IOMMU group number} */
    public int number() {
        return number;
    }

    /** {@return the group node, e.g. {@code /dev/vfio/12}} */
    public Path node() {
        return node;
    }

    /** {@return a new file descriptor for the device {@code address} of this group} */
    public synchronized int openDevice(PciAddress address) {
        if (closed) {
            throw new IllegalStateException("VFIO group " + node + " is closed");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocateFrom(address.toString());
            return Syscalls.ioctl(fd, VfioIoctl.VFIO_GROUP_GET_DEVICE_FD, name, node.toString());
        } catch (SyscallException e) {
            if (e.errno() == Errno.EBUSY) {
                throw new VfioException(VfioException.Reason.GROUP_BUSY, address + " is already open (EBUSY): "
                        + "another user of " + node + " holds it", e);
            }
            throw new VfioException(VfioException.Reason.NOT_BOUND_TO_VFIO_PCI, "VFIO group " + node
                    + " has no usable device " + address + " (" + e.getMessage() + "): is it in IOMMU group " + number
                    + " and bound to vfio-pci?", e);
        }
    }

    /** Detaches the group from its container (the kernel does it when the descriptor closes). */
    synchronized void close() {
        if (!closed) {
            closed = true;
            Syscalls.close(fd);
        }
    }
}
