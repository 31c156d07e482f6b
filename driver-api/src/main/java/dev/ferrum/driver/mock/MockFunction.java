package dev.ferrum.driver.mock;

import dev.ferrum.driver.mock.internal.DeviceMemory;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.internal.BarAccess;
import dev.ferrum.driver.pci.PciConfig;
import dev.ferrum.driver.pci.spi.BarInfo;
import dev.ferrum.driver.pci.spi.PciFunction;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A mock bus slot: a {@link DeviceModel} seen as a {@link PciFunction}. Config space is emulated with write masks
 * (read-only IDs, BAR sizing, command register, MSI-X control, PCIe device control with FLR); BARs are the model's
 * memory, handed to the driver as revocable views; interrupts go to the eventfds the PCI layer provides.
 *
 * <p>Invariants: config reads and writes are serialized; no eventfd is written after {@link #disableMsix()} or
 * {@link #close()} has returned (raise and disable exclude each other); a driver view of a BAR never outlives the model's memory
 * (the bus revokes views before it frees the model); the model's DMA is refused while bus mastering is off.
 */
final class MockFunction implements PciFunction {
    private final PciAddress address;
    private final DeviceModel model;
    private final MockIommu iommu;
    private final DmaEngine dma;
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment config = Arena.ofAuto().allocate(4096, 8);
    private final MemorySegment writable = Arena.ofAuto().allocate(4096, 8);
    /** Eight bytes holding 1: what is written to an eventfd to signal it. Read-only after construction. */
    private final MemorySegment one = Arena.ofAuto().allocate(ValueLayout.JAVA_LONG);
    private final AtomicInteger configReadFailures = new AtomicInteger();
    private final AtomicInteger droppedInterrupts = new AtomicInteger();
    /**
     * Guards {@link #eventfds}: a raise writes to an eventfd only while holding it, and routing is dropped only
     * while holding it, so no write reaches an eventfd after {@link #disableMsix()} returns (the PCI layer closes the
     * eventfds right after, and a closed descriptor's number can be reused by any file the process opens next).
     * A leaf lock: nothing else is taken while holding it.
     */
    private final Object routing = new Object();
    private volatile int[] eventfds;
    /** Test hook: sees every eventfd write (just before it) and every drop of the routing. */
    volatile InterruptProbe probe;
    private volatile int command;
    private boolean closed;

    MockFunction(PciAddress address, DeviceModel model) {
        this.address = address;
        this.model = model;
        this.iommu = new MockIommu(address.toString());
        this.dma = new DmaEngine(this, iommu);
        one.set(ValueLayout.JAVA_LONG, 0, 1L);
        model.config().render(config, writable);
    }

    DeviceModel model() {
        return model;
    }

    MockIommu iommu() {
        return iommu;
    }

    DmaEngine dma() {
        return dma;
    }

    boolean busMasterEnabled() {
        return (command & PciConfig.COMMAND_BUS_MASTER) != 0;
    }

    boolean msixEnabled() {
        return eventfds != null;
    }

    void failConfigReads(int count) {
        configReadFailures.set(count);
    }

    void dropInterrupts(int count) {
        droppedInterrupts.set(count);
    }

    /** Signals vector {@code v}'s eventfd (unless MSI-X is off, the vector is out of range, or a drop is injected). */
    void raise(int v) {
        synchronized (routing) {
            int[] fds = eventfds;
            if (fds == null || v < 0 || v >= fds.length) {
                return;
            }
            if (droppedInterrupts.get() > 0 && droppedInterrupts.getAndDecrement() > 0) {
                return;
            }
            InterruptProbe p = probe;
            if (p != null) {
                p.writing(fds[v]);
            }
            Syscalls.write(fds[v], one, "MSI-X eventfd of mock " + address);
        }
    }

    /** Drops the interrupt routing; when this returns no raise is writing to, or will write to, the eventfds. */
    private void detachInterrupts() {
        synchronized (routing) {
            int[] fds = eventfds;
            eventfds = null;
            InterruptProbe p = probe;
            if (fds != null && p != null) {
                p.detached(fds.clone());
            }
        }
    }

    /** What a test sees of interrupt routing. */
    interface InterruptProbe {
        /** Called just before {@code fd} is written, with the routing lock held. */
        void writing(int fd);

        /** Called when routing to {@code fds} is dropped, with the routing lock held. */
        void detached(int[] fds);
    }

    @Override
    public PciAddress address() {
        return address;
    }

    @Override
    public int configSize() {
        return model.config().configSize();
    }

    @Override
    public synchronized int configRead(int offset, int width) {
        if (configReadFailures.get() > 0 && configReadFailures.getAndDecrement() > 0) {
            throw new SyscallException("pread(config space of " + address + " at 0x" + Integer.toHexString(offset)
                    + ")", Errno.EIO);
        }
        return get(config, offset, width);
    }

    @Override
    public synchronized void configWrite(int offset, int width, int value) {
        for (int i = 0; i < width; i++) {
            int o = offset + i;
            int mask = writable.get(ValueLayout.JAVA_BYTE, o) & 0xff;
            int old = config.get(ValueLayout.JAVA_BYTE, o) & 0xff;
            int b = (value >>> (8 * i)) & 0xff;
            config.set(ValueLayout.JAVA_BYTE, o, (byte) ((old & ~mask) | (b & mask)));
        }
        command = get(config, PciConfig.COMMAND, 2);
        int devctl = DeviceConfig.PCIE_CAP_OFFSET + PciConfig.PCIE_DEVCTL;
        if (offset <= devctl && devctl < offset + width
                && (get(config, devctl, 2) & PciConfig.PCIE_DEVCTL_BCR_FLR) != 0) {
            if (model.config().hasFlr()) {
                // A function-level reset initiated in config space clears the command register, as hardware does.
                put(config, PciConfig.COMMAND, 2, 0);
                command = 0;
                model.resetNow();
            }
            put(config, devctl, 2, get(config, devctl, 2) & ~PciConfig.PCIE_DEVCTL_BCR_FLR);
        }
    }

    private static int get(MemorySegment s, int offset, int width) {
        return switch (width) {
            case 1 -> s.get(ValueLayout.JAVA_BYTE, offset) & 0xff;
            case 2 -> s.get(ValueLayout.JAVA_SHORT_UNALIGNED, offset) & 0xffff;
            case 4 -> s.get(ValueLayout.JAVA_INT_UNALIGNED, offset);
            default -> throw new IllegalArgumentException("config access width " + width);
        };
    }

    private static void put(MemorySegment s, int offset, int width, int value) {
        switch (width) {
            case 1 -> s.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
            case 2 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, offset, (short) value);
            default -> s.set(ValueLayout.JAVA_INT_UNALIGNED, offset, value);
        }
    }

    @Override
    public BarInfo barInfo(int index) {
        DeviceConfig c = model.config();
        long size = c.barSize(index);
        return new BarInfo(index, size, true, c.is64Bit(index), c.isPrefetchable(index), size);
    }

    /** Under this function's lock, so that {@link #close()} (which frees the model's memory) cannot interleave. */
    @Override
    public synchronized MemorySegment mapBar(int index, Arena arena) {
        return DeviceMemory.view(liveBar(index), arena);
    }

    /** Reads the model's BAR memory, as a non-posted read would; under this function's lock, like {@link #mapBar}. */
    @Override
    public synchronized long barRead(int index, long offset, int width) {
        BarAccess.check(address, index, model.config().barSize(index), offset, width);
        MemorySegment bar = liveBar(index);
        return switch (width) {
            case 1 -> bar.get(ValueLayout.JAVA_BYTE, offset) & 0xffL;
            case 2 -> bar.get(LE16, offset) & 0xffffL;
            case 4 -> bar.get(LE32, offset) & 0xffff_ffffL;
            case 8 -> bar.get(LE64, offset);
            default -> throw new IllegalArgumentException("BAR access width " + width + " is not 1, 2, 4 or 8");
        };
    }

    @Override
    public synchronized void barWrite(int index, long offset, int width, long value) {
        BarAccess.checkWrite(address, index, model.config().barSize(index), offset, width, value);
        MemorySegment bar = liveBar(index);
        switch (width) {
            case 1 -> bar.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
            case 2 -> bar.set(LE16, offset, (short) value);
            case 4 -> bar.set(LE32, offset, (int) value);
            case 8 -> bar.set(LE64, offset, value);
            default -> throw new IllegalArgumentException("BAR access width " + width + " is not 1, 2, 4 or 8");
        }
    }

    private MemorySegment liveBar(int index) {
        if (closed) {
            throw new IllegalStateException("mock function " + address + " is closed: its model's BAR memory is freed");
        }
        return model.bar(index);
    }

    @Override
    public DeviceAddressSpace addressSpace() {
        return iommu;
    }

    @Override
    public DmaPool.MemoryLock dmaMemoryLock() {
        // No real device reads this memory: locking it only matters for hardware.
        return DmaPool.MemoryLock.BEST_EFFORT;
    }

    @Override
    public int msixVectors() {
        return model.config().msixVectors();
    }

    @Override
    public synchronized void enableMsix(int[] fds) {
        if (fds.length > msixVectors()) {
            throw new IllegalArgumentException(fds.length + " eventfds for " + msixVectors() + " MSI-X vectors");
        }
        int[] copy = fds.clone();
        synchronized (routing) {
            eventfds = copy;
        }
        int control = DeviceConfig.MSIX_CAP_OFFSET + PciConfig.MSIX_MESSAGE_CONTROL;
        put(config, control, 2, get(config, control, 2) | PciConfig.MSIX_CONTROL_ENABLE);
    }

    @Override
    public synchronized void disableMsix() {
        detachInterrupts();
        if (msixVectors() > 0) {
            int control = DeviceConfig.MSIX_CAP_OFFSET + PciConfig.MSIX_MESSAGE_CONTROL;
            put(config, control, 2, get(config, control, 2) & ~PciConfig.MSIX_CONTROL_ENABLE);
        }
    }

    /**
     * Resets the device model. Config space is preserved, as with {@code VFIO_DEVICE_RESET}, where the kernel saves
     * and restores the function's config state around the reset.
     */
    @Override
    public synchronized void reset() {
        model.resetNow();
    }

    /** Stops the model and frees its memory; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        detachInterrupts();
        model.free();
    }
}
