package dev.ferrum.driver.vfio.internal;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.internal.BarAccess;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.driver.pci.spi.BarInfo;
import dev.ferrum.driver.pci.spi.PciFunction;
import dev.ferrum.driver.vfio.VfioException;
import dev.ferrum.driver.vfio.VfioException.Reason;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.sys.Syscalls;
import dev.ferrum.sys.VfioIoctl;
import dev.ferrum.sys.linux.Linux;
import dev.ferrum.sys.linux.vfio_device_info;
import dev.ferrum.sys.linux.vfio_irq_info;
import dev.ferrum.sys.linux.vfio_irq_set;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * One PCI function opened through VFIO: a device file descriptor, whose regions are config space (read and
 * written with pread/pwrite at the config region's offset) and the BARs (mmapped, or read and written with
 * pread/pwrite where they cannot be mapped), plus interrupt routing ({@code VFIO_DEVICE_SET_IRQS}) and reset
 * ({@code VFIO_DEVICE_RESET}).
 *
 * <p>Invariants: the device file descriptor is open until {@link #close()}; region information is read once per
 * region and cached (the kernel's answers do not change while the device is open); MSI-X is either off or routed
 * to exactly the eventfds of the last {@link #enableMsix}; after {@code close} every operation throws
 * {@link IllegalStateException}.
 *
 * <p>Thread-safe: pread/pwrite are positional, state changes are serialized.
 */
public final class VfioFunction implements PciFunction {
    private static final int CONFIG = Linux.VFIO_PCI_CONFIG_REGION_INDEX();
    private static final int MSIX = Linux.VFIO_PCI_MSIX_IRQ_INDEX();
    private static final int REQ = Linux.VFIO_PCI_REQ_IRQ_INDEX();
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final PciAddress address;
    private final String name;
    private final int fd;
    private final int groupNumber;
    private final DeviceAddressSpace addressSpace;
    private final int deviceFlags;
    private final RegionInfo config;
    private final RegionInfo[] bars = new RegionInfo[6];
    private final int msixVectors;
    private final boolean requestIrq;
    private boolean msixEnabled;
    private boolean requestEnabled;
    private volatile boolean closed;

    private VfioFunction(PciAddress address, int fd, int groupNumber, DeviceAddressSpace addressSpace, int flags,
                         RegionInfo config, int msixVectors, boolean requestIrq) {
        this.address = address;
        this.name = "VFIO device " + address;
        this.fd = fd;
        this.groupNumber = groupNumber;
        this.addressSpace = addressSpace;
        this.deviceFlags = flags;
        this.config = config;
        this.msixVectors = msixVectors;
        this.requestIrq = requestIrq;
    }

    /** Opens {@code address} in {@code group} and reads what the kernel says about it. */
    public static VfioFunction open(VfioGroup group, PciAddress address, DeviceAddressSpace addressSpace) {
        int fd = group.openDevice(address);
        String what = "VFIO device " + address;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(vfio_device_info.layout());
            vfio_device_info.argsz(info, (int) vfio_device_info.sizeof());
            Syscalls.ioctl(fd, VfioIoctl.VFIO_DEVICE_GET_INFO, info, what);
            int flags = vfio_device_info.flags(info);
            int regions = vfio_device_info.num_regions(info);
            int irqs = vfio_device_info.num_irqs(info);
            if ((flags & Linux.VFIO_DEVICE_FLAGS_PCI()) == 0 || regions <= CONFIG) {
                throw new VfioException(Reason.UNSUPPORTED, what + " is not a VFIO PCI device (flags 0x"
                        + Integer.toHexString(flags) + ", " + regions + " regions)");
            }
            RegionInfo config = RegionInfo.query(fd, CONFIG, what);
            if (config.size() < 256 || !config.readable() || !config.writable()) {
                throw new IllegalStateException(what + ": config space region is unusable: " + config);
            }
            int vectors = irqs > MSIX ? eventfdIrqCount(fd, MSIX, a, what) : 0;
            // The request interrupt (vfio-pci since Linux 4.0): how the kernel asks for the device back.
            boolean request = irqs > REQ && eventfdIrqCount(fd, REQ, a, what) > 0;
            return new VfioFunction(address, fd, group.number(), addressSpace, flags, config, vectors, request);
        } catch (RuntimeException e) {
            Syscalls.close(fd);
            throw e;
        }
    }

    /** {@return how many interrupts of {@code index} can be signalled to eventfds (0 if none)} */
    private static int eventfdIrqCount(int fd, int index, Arena a, String what) {
        MemorySegment irq = a.allocate(vfio_irq_info.layout());
        vfio_irq_info.argsz(irq, (int) vfio_irq_info.sizeof());
        vfio_irq_info.index(irq, index);
        Syscalls.ioctl(fd, VfioIoctl.VFIO_DEVICE_GET_IRQ_INFO, irq, what);
        return (vfio_irq_info.flags(irq) & Linux.VFIO_IRQ_INFO_EVENTFD()) != 0 ? vfio_irq_info.count(irq) : 0;
    }

    @Override
    public PciAddress address() {
        return address;
    }

    /** {@return the IOMMU group the function belongs to} */
    public int iommuGroup() {
        return groupNumber;
    }

    /** {@return whether the kernel can reset the function ({@code VFIO_DEVICE_FLAGS_RESET})} */
    public boolean resetSupported() {
        return (deviceFlags & Linux.VFIO_DEVICE_FLAGS_RESET()) != 0;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
    }

    // ---- Config space ----

    @Override
    public int configSize() {
        return (int) Math.min(config.size(), 4096);
    }

    @Override
    public int configRead(int offset, int width) {
        requireOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(width);
            transfer(buf, config.offset() + offset, false, "config space at 0x" + Integer.toHexString(offset));
            return switch (width) {
                case 1 -> buf.get(ValueLayout.JAVA_BYTE, 0) & 0xff;
                case 2 -> buf.get(LE16, 0) & 0xffff;
                case 4 -> buf.get(LE32, 0);
                default -> throw new IllegalArgumentException("config access width " + width + " is not 1, 2 or 4");
            };
        }
    }

    @Override
    public void configWrite(int offset, int width, int value) {
        requireOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(width);
            switch (width) {
                case 1 -> buf.set(ValueLayout.JAVA_BYTE, 0, (byte) value);
                case 2 -> buf.set(LE16, 0, (short) value);
                case 4 -> buf.set(LE32, 0, value);
                default -> throw new IllegalArgumentException("config access width " + width + " is not 1, 2 or 4");
            }
            transfer(buf, config.offset() + offset, true, "config space at 0x" + Integer.toHexString(offset));
        }
    }

    /** pread/pwrite all of {@code buf} at {@code fileOffset}; a short transfer is an I/O error. */
    private void transfer(MemorySegment buf, long fileOffset, boolean write, String what) {
        String where = what + " of " + address;
        long n = write ? Syscalls.pwrite(fd, buf, fileOffset, where) : Syscalls.pread(fd, buf, fileOffset, where);
        if (n != buf.byteSize()) {
            throw new IllegalStateException((write ? "pwrite" : "pread") + " of " + where + " transferred " + n
                    + " of " + buf.byteSize() + " bytes");
        }
    }

    // ---- BARs ----

    private RegionInfo region(int index) {
        if (index < 0 || index > 5) {
            throw new IllegalArgumentException("BAR index " + index + " is not 0..5");
        }
        synchronized (bars) {
            RegionInfo r = bars[index];
            if (r == null) {
                r = RegionInfo.query(fd, index, name);
                bars[index] = r;
            }
            return r;
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Size from the kernel's region information (the BAR's full size, also for the part that cannot be
     * mapped); I/O or memory, 64-bit and prefetchable from the BAR register in config space. The upper half of a
     * 64-bit BAR is reported absent (size 0). {@link BarInfo#mappableSize()} is the mappable prefix (see
     * {@link RegionInfo#mappablePrefix()}); the rest of the BAR is reachable with {@link #barRead}/{@link #barWrite}.
     */
    @Override
    public BarInfo barInfo(int index) {
        requireOpen();
        RegionInfo r = region(index);
        int bar = configRead(PciConfig.BAR0 + 4 * index, 4);
        boolean io = (bar & 1) != 0;
        boolean is64 = !io && ((bar >>> 1) & 3) == 2;
        boolean prefetchable = !io && (bar & 8) != 0;
        long mappable = io ? 0 : r.mappablePrefix();
        return new BarInfo(index, r.size(), !io, is64, prefetchable, mappable);
    }

    @Override
    public MemorySegment mapBar(int index, Arena arena) {
        requireOpen();
        RegionInfo r = region(index);
        long length = barInfo(index).mappableSize();
        if (length == 0) {
            throw new IllegalArgumentException("BAR" + index + " of " + address + " cannot be memory-mapped "
                    + "(region flags 0x" + Integer.toHexString(r.flags()) + "); use barRead/barWrite");
        }
        return BarMapping.map(fd, r.offset(), length, r.writable(), arena, "BAR" + index + " of " + address);
    }

    /**
     * Reads {@code width} bytes (1, 2, 4 or 8) of BAR {@code index} at {@code offset} with pread on the device
     * file: the way to reach the part of a BAR that cannot be mapped (a sparse-mmap hole, such as an MSI-X table
     * the kernel protects), or an I/O BAR. Each call is a system call: not for hot paths.
     *
     * @return the value, zero-extended, little endian
     * @throws IndexOutOfBoundsException if the access is not inside the BAR
     * @throws IllegalArgumentException  if the width is not 1, 2, 4 or 8, the offset not aligned to it, or the BAR
     *                                   cannot be read
     */
    @Override
    public long barRead(int index, long offset, int width) {
        requireOpen();
        RegionInfo r = checkBarAccess(index, offset, width, false);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(width);
            transfer(buf, r.offset() + offset, false, "BAR" + index + " at 0x" + Long.toHexString(offset));
            return switch (width) {
                case 1 -> buf.get(ValueLayout.JAVA_BYTE, 0) & 0xffL;
                case 2 -> buf.get(LE16, 0) & 0xffffL;
                case 4 -> buf.get(LE32, 0) & 0xffff_ffffL;
                default -> buf.get(LE64, 0);
            };
        }
    }

    /** Writes {@code width} bytes of {@code value} to BAR {@code index} at {@code offset} with pwrite; see {@link #barRead}. */
    @Override
    public void barWrite(int index, long offset, int width, long value) {
        requireOpen();
        RegionInfo r = checkBarAccess(index, offset, width, true);
        BarAccess.checkWrite(address, index, r.size(), offset, width, value);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(width);
            switch (width) {
                case 1 -> buf.set(ValueLayout.JAVA_BYTE, 0, (byte) value);
                case 2 -> buf.set(LE16, 0, (short) value);
                case 4 -> buf.set(LE32, 0, (int) value);
                default -> buf.set(LE64, 0, value);
            }
            transfer(buf, r.offset() + offset, true, "BAR" + index + " at 0x" + Long.toHexString(offset));
        }
    }

    private RegionInfo checkBarAccess(int index, long offset, int width, boolean write) {
        RegionInfo r = region(index);
        BarAccess.check(address, index, r.size(), offset, width);
        if (write ? !r.writable() : !r.readable()) {
            throw new IllegalArgumentException("BAR" + index + " of " + address + " cannot be "
                    + (write ? "written" : "read") + " through VFIO");
        }
        return r;
    }

    // ---- DMA ----

    @Override
    public DeviceAddressSpace addressSpace() {
        return addressSpace;
    }

    @Override
    public DmaPool.MemoryLock dmaMemoryLock() {
        return DmaPool.MemoryLock.REQUIRE;
    }

    // ---- Interrupts ----

    @Override
    public int msixVectors() {
        return msixVectors;
    }

    @Override
    public synchronized void enableMsix(int[] eventfds) {
        requireOpen();
        if (eventfds.length == 0 || eventfds.length > msixVectors) {
            throw new IllegalArgumentException(eventfds.length + " eventfds for the " + msixVectors
                    + " MSI-X vectors of " + address);
        }
        if (msixEnabled) {
            // The kernel cannot grow or shrink an enabled MSI-X set: turn it off and on with the new routing.
            setMsix(Linux.VFIO_IRQ_SET_DATA_NONE(), new int[0]);
            msixEnabled = false;
        }
        setMsix(Linux.VFIO_IRQ_SET_DATA_EVENTFD(), eventfds);
        msixEnabled = true;
    }

    @Override
    public synchronized void disableMsix() {
        requireOpen();
        if (msixEnabled) {
            setMsix(Linux.VFIO_IRQ_SET_DATA_NONE(), new int[0]);
            msixEnabled = false;
        }
    }

    private void setMsix(int dataFlag, int[] eventfds) {
        setIrqs(MSIX, dataFlag, eventfds, name + " MSI-X (" + eventfds.length + " vectors)");
    }

    /** {@code VFIO_DEVICE_SET_IRQS}: trigger interrupts {@code 0..eventfds.length-1} of {@code index} on the eventfds. */
    private void setIrqs(int index, int dataFlag, int[] eventfds, String what) {
        long size = vfio_irq_set.sizeof() + 4L * eventfds.length;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = a.allocate(size, 4);
            vfio_irq_set.argsz(set, (int) size);
            vfio_irq_set.flags(set, dataFlag | Linux.VFIO_IRQ_SET_ACTION_TRIGGER());
            vfio_irq_set.index(set, index);
            vfio_irq_set.start(set, 0);
            vfio_irq_set.count(set, eventfds.length);
            for (int i = 0; i < eventfds.length; i++) {
                set.set(ValueLayout.JAVA_INT, vfio_irq_set.data$offset() + 4L * i, eventfds[i]);
            }
            Syscalls.ioctl(fd, VfioIoctl.VFIO_DEVICE_SET_IRQS, set, what);
        }
    }

    // ---- Removal requests ----

    /**
     * {@return whether the kernel can ask for the device back through an eventfd} ({@code VFIO_PCI_REQ_IRQ_INDEX}:
     * signalled when the device is being removed or unbound from vfio-pci while this process has it open; the
     * kernel then waits, re-signalling every 10 s, until the device file and every mapping of it are released)
     */
    public boolean supportsRemovalRequest() {
        return requestIrq;
    }

    /**
     * Routes the request interrupt to {@code eventfd}.
     *
     * @throws IllegalStateException if the kernel offers no request interrupt for this device, or it is closed
     */
    public synchronized void enableRemovalRequest(int eventfd) {
        requireOpen();
        if (!requestIrq) {
            throw new IllegalStateException(name + " has no VFIO request interrupt");
        }
        setIrqs(REQ, Linux.VFIO_IRQ_SET_DATA_EVENTFD(), new int[] {eventfd}, name + " request interrupt");
        requestEnabled = true;
    }

    // ---- Reset and close ----

    @Override
    public void reset() {
        requireOpen();
        if (!resetSupported()) {
            throw new VfioException(Reason.UNSUPPORTED, address + " cannot be reset through VFIO: the kernel found no "
                    + "reset method for it (no function-level reset, no PM reset without side effects, and no "
                    + "bus reset that affects only this function); VFIO_DEVICE_FLAGS_RESET is clear. Reset it by "
                    + "rebinding or power-cycling the machine, or reinitialize it through its own registers.");
        }
        Syscalls.ioctl(fd, VfioIoctl.VFIO_DEVICE_RESET, 0L, name);
    }

    /**
     * Turns MSI-X and the request interrupt off and closes the device file descriptor; idempotent. BAR mappings stay
     * valid until unmapped (and keep the device open in the kernel until then).
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            if (msixEnabled) {
                setMsix(Linux.VFIO_IRQ_SET_DATA_NONE(), new int[0]);
                msixEnabled = false;
            }
        } finally {
            if (requestEnabled) {
                requestEnabled = false;
                try {
                    setIrqs(REQ, Linux.VFIO_IRQ_SET_DATA_NONE(), new int[0], name + " request interrupt off");
                } catch (RuntimeException ignored) {
                    // Closing the file below releases the trigger as well.
                }
            }
            closed = true;
            Syscalls.close(fd);
        }
    }

    @Override
    public String toString() {
        return name + " (IOMMU group " + groupNumber + ")";
    }
}
