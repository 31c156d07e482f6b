package dev.ferrum.driver.pci;

import dev.ferrum.driver.pci.internal.InterruptDispatcher;
import dev.ferrum.driver.pci.spi.BarInfo;
import dev.ferrum.driver.pci.spi.PciFunction;
import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.internal.LiveResources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A PCI function as a driver sees it, whichever backend provides it: identity, checked config space access,
 * capabilities, BARs as revocable register windows (and slow access without a mapping, for the parts of a BAR that
 * cannot be mapped), DMA memory, MSI-X vectors and reset.
 *
 * <p>Resources a driver obtains here (BAR mappings, DMA pools, interrupt vectors, {@link #devres devres} values)
 * belong to the current binding: the {@link PciBus} releases them after the driver's
 * {@link PciDriver#remove remove}, in reverse order of acquisition. On surprise removal the BARs are revoked
 * first, before {@code remove} runs.
 *
 * <p>Invariants: identity fields are read once, when the bus first sees the function; config and slow BAR
 * accesses stay inside config space or the BAR and are naturally aligned; after removal every operation that
 * reaches the device or takes a resource throws {@link DeviceGoneException} (config and BAR access, capabilities,
 * {@link #configSize()}, {@link #bar}, {@link #addressSpace()}, DMA pools, {@link #msixVectorCount()},
 * {@link #enableMsix}, {@link #reset()}, {@link #devres}); what a driver's {@code remove} needs for teardown keeps
 * working: the identity accessors, {@link #isPresent()}, {@link #msixVectors()} and {@link #disableMsix()};
 * capability walks terminate even on a device whose capability list loops (devices are untrusted).
 *
 * {@snippet class=dev.ferrum.example.javadoc.PciExamplesTest region=device}
 *
 * <p>Thread-safe.
 */
public final class PciDevice {
    private static final Logger LOG = LoggerFactory.getLogger(PciDevice.class);
    /** A capability list longer than this is a loop or garbage: 48 is the most that fits in 192 bytes. */
    private static final int MAX_CAPABILITIES = 48;

    private final PciFunction function;
    private final PciAddress address;
    private final int vendorId;
    private final int deviceId;
    private final int subsystemVendorId;
    private final int subsystemId;
    private final int classCode;
    private final int revision;

    private final Object lock = new Object();
    private volatile boolean present = true;
    /** Release actions of the current binding, most recent first. */
    private final Deque<Runnable> releases = new ArrayDeque<>();
    @SuppressWarnings("unchecked")
    private final Devres<Bar>[] bars = new Devres[6];
    private DmaPool dmaPool;
    private InterruptDispatcher interrupts;
    private List<InterruptVector> vectors = List.of();
    private final Runnable msixRelease = this::disableMsixLocked;

    PciDevice(PciFunction function) {
        this.function = function;
        this.address = function.address();
        this.vendorId = function.configRead(PciConfig.VENDOR_ID, 2);
        if (vendorId == 0xffff) {
            throw new DeviceGoneException(address + " does not respond (vendor ID reads 0xffff)");
        }
        this.deviceId = function.configRead(PciConfig.DEVICE_ID, 2);
        this.subsystemVendorId = function.configRead(PciConfig.SUBSYSTEM_VENDOR_ID, 2);
        this.subsystemId = function.configRead(PciConfig.SUBSYSTEM_ID, 2);
        this.revision = function.configRead(PciConfig.REVISION_ID, 1);
        this.classCode = function.configRead(PciConfig.REVISION_ID, 4) >>> 8;
    }

    PciFunction function() {
        return function;
    }

    /** {@return the function's PCI address} */
    public PciAddress address() {
        return address;
    }

    /** {@return the vendor ID} */
    public int vendorId() {
        return vendorId;
    }

    /** {@return the device ID} */
    public int deviceId() {
        return deviceId;
    }

    /** {@return the subsystem vendor ID} */
    public int subsystemVendorId() {
        return subsystemVendorId;
    }

    /** {@return the subsystem ID} */
    public int subsystemId() {
        return subsystemId;
    }

    /** {@return the 24-bit class code (base class, subclass, programming interface)} */
    public int classCode() {
        return classCode;
    }

    /** {@return the revision ID} */
    public int revision() {
        return revision;
    }

    /** {@return whether the function is still present (not removed)} */
    public boolean isPresent() {
        return present;
    }

    /** {@return whether {@code id} matches this function} */
    public boolean matches(DeviceId id) {
        return id.matches(vendorId, deviceId, subsystemVendorId, subsystemId, classCode);
    }

    // ---- Config space ----

    /**
     * {@return the config space size: 256 or 4096}
     *
     * @throws DeviceGoneException if the device was removed
     */
    public int configSize() {
        requirePresent();
        return function.configSize();
    }

    /** {@return the config byte at {@code offset}} */
    public int configRead8(int offset) {
        return configRead(offset, 1);
    }

    /** {@return the config word at {@code offset} (2-byte aligned)} */
    public int configRead16(int offset) {
        return configRead(offset, 2);
    }

    /** {@return the config dword at {@code offset} (4-byte aligned)} */
    public int configRead32(int offset) {
        return configRead(offset, 4);
    }

    /** Writes the config byte at {@code offset}. */
    public void configWrite8(int offset, int value) {
        configWrite(offset, 1, value);
    }

    /** Writes the config word at {@code offset} (2-byte aligned). */
    public void configWrite16(int offset, int value) {
        configWrite(offset, 2, value);
    }

    /** Writes the config dword at {@code offset} (4-byte aligned). */
    public void configWrite32(int offset, int value) {
        configWrite(offset, 4, value);
    }

    private void checkConfig(int offset, int width) {
        requirePresent();
        int size = function.configSize();
        if (offset < 0 || offset > size - width) {
            throw new IndexOutOfBoundsException("config " + (width * 8) + "-bit access at 0x"
                    + Integer.toHexString(offset) + " is outside the " + size + "-byte config space of " + address);
        }
        if ((offset & (width - 1)) != 0) {
            throw new IllegalArgumentException("config " + (width * 8) + "-bit access at 0x"
                    + Integer.toHexString(offset) + " of " + address + " is not " + width + "-byte aligned");
        }
    }

    private int configRead(int offset, int width) {
        checkConfig(offset, width);
        return function.configRead(offset, width);
    }

    private void configWrite(int offset, int width, int value) {
        checkConfig(offset, width);
        if (width < 4 && (value >>> (width * 8)) != 0) {
            throw new IllegalArgumentException("value 0x" + Integer.toHexString(value) + " does not fit a "
                    + (width * 8) + "-bit config write");
        }
        function.configWrite(offset, width, value);
    }

    // ---- Capabilities ----

    /**
     * {@return the capabilities, conventional ones first, then PCI Express extended ones}
     * The walk validates every pointer (in range, dword aligned, not revisiting) and stops at
     * {@value #MAX_CAPABILITIES} entries.
     */
    public List<Capability> capabilities() {
        List<Capability> caps = new ArrayList<>();
        if ((configRead16(PciConfig.STATUS) & PciConfig.STATUS_CAPABILITIES_LIST) != 0) {
            int ptr = configRead8(PciConfig.CAPABILITIES_POINTER) & ~3;
            boolean[] seen = new boolean[256];
            while (ptr >= 0x40 && ptr <= 0xfc && !seen[ptr] && caps.size() < MAX_CAPABILITIES) {
                seen[ptr] = true;
                int header = configRead16(ptr);
                caps.add(new Capability(header & 0xff, ptr, false));
                ptr = (header >>> 8) & 0xfc;
            }
        }
        if (configSize() > PciConfig.EXTENDED_CAPABILITIES) {
            int ptr = PciConfig.EXTENDED_CAPABILITIES;
            boolean[] seen = new boolean[configSize() / 4];
            int found = 0;
            while (ptr >= PciConfig.EXTENDED_CAPABILITIES && ptr <= configSize() - 4 && !seen[ptr / 4]
                    && found < (configSize() - PciConfig.EXTENDED_CAPABILITIES) / 4) {
                seen[ptr / 4] = true;
                int header = configRead32(ptr);
                if (header == 0 || header == -1) {
                    break;
                }
                caps.add(new Capability(header & 0xffff, ptr, true));
                found++;
                ptr = (header >>> 20) & 0xffc;
            }
        }
        return caps;
    }

    /** {@return the first conventional capability with {@code id}} */
    public Optional<Capability> capability(int id) {
        return capabilities().stream().filter(c -> !c.extended() && c.id() == id).findFirst();
    }

    // ---- Command register ----

    /** Enables memory space decoding (the command register's Memory Space bit). */
    public void enableMemory() {
        setCommandBits(PciConfig.COMMAND_MEMORY, true);
    }

    /** Enables or disables bus mastering: the device may issue DMA only while it is enabled. */
    public void setBusMaster(boolean enable) {
        setCommandBits(PciConfig.COMMAND_BUS_MASTER, enable);
    }

    private void setCommandBits(int bits, boolean set) {
        synchronized (lock) {
            int cmd = configRead16(PciConfig.COMMAND);
            configWrite16(PciConfig.COMMAND, set ? cmd | bits : cmd & ~bits);
        }
    }

    // ---- BARs ----

    /**
     * {@return BAR {@code index} mapped as a register window, valid while the driver is bound}
     * The same {@link Devres} is returned for repeated calls within one binding.
     *
     * @throws IllegalArgumentException if the index is not 0..5, or the BAR is absent, I/O space or not mappable
     * @throws DeviceGoneException      if the device was removed
     */
    public Devres<Bar> bar(int index) {
        if (index < 0 || index > 5) {
            throw new IllegalArgumentException("BAR index " + index + " is not 0..5");
        }
        synchronized (lock) {
            requirePresent();
            Devres<Bar> existing = bars[index];
            if (existing != null && !existing.isRevoked()) {
                return existing;
            }
            BarInfo info = function.barInfo(index);
            if (!info.present()) {
                throw new IllegalArgumentException("BAR" + index + " of " + address + " is not implemented");
            }
            if (!info.memory()) {
                throw new IllegalArgumentException("BAR" + index + " of " + address + " is I/O space, not memory");
            }
            if (info.mappableSize() == 0) {
                throw new IllegalArgumentException("BAR" + index + " of " + address + " cannot be memory-mapped");
            }
            Arena arena = Arena.ofShared();
            MemorySegment segment;
            try {
                segment = function.mapBar(index, arena);
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
            String name = "BAR" + index + " of " + address;
            Bar bar = new Bar(index, info.size(), Mmio.of(segment, name), info.prefetchable());
            // Revocation closes the arena: a shared arena's close waits until no thread is inside an access, and
            // every later access throws, so the window can be unmapped safely.
            LiveResources.Registration registration = LiveResources.open(LiveResources.Kind.ARENA,
                    "view of " + name + " (" + info.size() + " bytes)");
            Devres<Bar> devres = new Devres<>(bar, name, b -> {
                arena.close();
                registration.close();
            });
            bars[index] = devres;
            releases.push(devres::revoke);
            return devres;
        }
    }

    /**
     * Reads {@code width} bytes (1, 2, 4 or 8) of BAR {@code index} at {@code offset} without a mapping: under VFIO a
     * {@code pread} on the device file, which reaches every byte of the BAR, also what cannot be mapped (a
     * sparse-mmap hole such as an MSI-X table the kernel protects) and I/O BARs. One system call per access: for
     * rare accesses, never for hot paths (use {@link #bar}). Not tied to the binding, like config space access.
     *
     * @return the value, zero-extended (PCI is little endian)
     * @throws IllegalArgumentException  if the index is not 0..5, the BAR is not implemented, the width is not 1, 2,
     *                                   4 or 8, or the offset is not a multiple of it
     * @throws IndexOutOfBoundsException if the access is not inside the BAR
     * @throws DeviceGoneException       if the device was removed
     */
    public long barRead(int index, long offset, int width) {
        checkBarAccess(index);
        return function.barRead(index, offset, width); // checks width, bounds and alignment
    }

    /**
     * Writes {@code width} bytes (1, 2, 4 or 8) of {@code value} to BAR {@code index} at {@code offset} without a
     * mapping (a {@code pwrite} under VFIO); see {@link #barRead}.
     *
     * @throws IllegalArgumentException  as for {@link #barRead}, and if {@code value} does not fit {@code width} bytes
     * @throws IndexOutOfBoundsException if the access is not inside the BAR
     * @throws DeviceGoneException       if the device was removed
     */
    public void barWrite(int index, long offset, int width, long value) {
        checkBarAccess(index);
        function.barWrite(index, offset, width, value); // checks width, bounds, alignment and the value
    }

    /** What the backends' own checks ({@code BarAccess}) cannot know: the index's range and the device's presence. */
    private void checkBarAccess(int index) {
        if (index < 0 || index > 5) {
            throw new IllegalArgumentException("BAR index " + index + " is not 0..5");
        }
        requirePresent();
    }

    // ---- DMA ----

    /**
     * {@return the address space the device's DMA goes through}
     *
     * @throws DeviceGoneException if the device was removed
     */
    public DeviceAddressSpace addressSpace() {
        requirePresent();
        return function.addressSpace();
    }

    /**
     * {@return the device's DMA pool, created on first use, closed when the driver is unbound} Its buffers are made
     * of 4 KiB pages, or of 2 MiB huge pages when the address space {@linkplain DeviceAddressSpace#requiresHugePages
     * requires them} (VFIO's no-IOMMU mode); then every buffer takes at least one huge page.
     */
    public DmaPool dmaPool() {
        synchronized (lock) {
            requirePresent();
            if (dmaPool == null) {
                DmaPool.HugePages pages = function.addressSpace().requiresHugePages()
                        ? DmaPool.HugePages.REQUIRE : DmaPool.HugePages.NEVER;
                DmaPool pool = newPool(address + " dma", pages);
                dmaPool = pool;
                releases.push(() -> {
                    dmaPool = null;
                    closePool(pool);
                });
            }
            return dmaPool;
        }
    }

    /** {@return a further DMA pool for this device, closed when the driver is unbound} */
    public DmaPool createDmaPool(String name, DmaPool.HugePages hugePages) {
        synchronized (lock) {
            requirePresent();
            DmaPool pool = newPool(address + " " + name, hugePages);
            releases.push(() -> closePool(pool));
            return pool;
        }
    }

    private DmaPool newPool(String name, DmaPool.HugePages hugePages) {
        return DmaPool.builder(function.addressSpace()).name(name).hugePages(hugePages)
                .memoryLock(function.dmaMemoryLock()).build();
    }

    private static void closePool(DmaPool pool) {
        try {
            pool.close();
        } catch (IllegalStateException e) {
            LOG.error("DMA pool not fully released at unbind (the device is stopped; memory kept): {}", e.getMessage());
        }
    }

    // ---- Interrupts ----

    /** {@return the number of MSI-X vectors the function supports (0 if it has no MSI-X)} */
    public int msixVectorCount() {
        requirePresent();
        return function.msixVectors();
    }

    /**
     * Enables {@code count} MSI-X vectors, delivered through the device's interrupt thread.
     *
     * @return the vectors, index 0 first
     * @throws IllegalArgumentException if count is not in {@code [1, msixVectorCount()]}
     * @throws IllegalStateException    if MSI-X is already enabled in this binding
     */
    public List<InterruptVector> enableMsix(int count) {
        synchronized (lock) {
            requirePresent();
            int max = function.msixVectors();
            if (max == 0) {
                throw new IllegalArgumentException(address + " has no MSI-X capability");
            }
            if (count < 1 || count > max) {
                throw new IllegalArgumentException("cannot enable " + count + " MSI-X vectors on " + address
                        + ": it supports 1.." + max);
            }
            if (interrupts != null) {
                throw new IllegalStateException("MSI-X is already enabled on " + address);
            }
            List<InterruptVector> list = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                list.add(new InterruptVector(i, "MSI-X " + i + " of " + address));
            }
            InterruptVector[] array = list.toArray(InterruptVector[]::new);
            InterruptDispatcher dispatcher = new InterruptDispatcher(address.toString(), count,
                    (v, n) -> array[v].deliver(n));
            try {
                function.enableMsix(dispatcher.eventfds());
            } catch (RuntimeException e) {
                dispatcher.close();
                throw e;
            }
            interrupts = dispatcher;
            vectors = List.copyOf(list);
            releases.push(msixRelease);
            return vectors;
        }
    }

    /**
     * {@return the enabled MSI-X vectors (empty if MSI-X is not enabled)} Never throws: after a removal it returns
     * the vectors until the binding is released, then an empty list.
     */
    public List<InterruptVector> msixVectors() {
        synchronized (lock) {
            return vectors;
        }
    }

    /**
     * Disables MSI-X; the vectors receive nothing more. Also after a removal (a driver's {@code remove} calls it to
     * stop its interrupt handlers): it never throws {@link DeviceGoneException}, and does nothing if MSI-X is not
     * enabled.
     */
    public void disableMsix() {
        synchronized (lock) {
            releases.remove(msixRelease);
            disableMsixLocked();
        }
    }

    private void disableMsixLocked() {
        InterruptDispatcher d = interrupts;
        if (d == null) {
            return;
        }
        interrupts = null;
        vectors = List.of();
        try {
            // Also after a removal: the backend must stop signalling these eventfds before they are closed below,
            // or a device model still raising an interrupt would write to a closed (perhaps reused) descriptor.
            function.disableMsix();
        } catch (RuntimeException e) {
            if (present) {
                throw e;
            }
            // VFIO after a surprise removal: the ioctl may fail; the kernel holds its own reference to each
            // eventfd, so closing ours below is still safe.
            LOG.debug("{}: disabling MSI-X after removal failed ({}); closing its eventfds anyway", address,
                    e.getMessage());
        } finally {
            d.close();
        }
    }

    // ---- Reset and device resources ----

    /** Resets the function (function-level reset). Register state and queues are lost; DMA stops. */
    public void reset() {
        synchronized (lock) {
            requirePresent();
            function.reset();
        }
    }

    /**
     * Registers a resource released when the driver is unbound (or the device removed).
     *
     * @param release runs once, after revocation has waited for accesses in progress
     */
    public <T> Devres<T> devres(T value, String name, Consumer<? super T> release) {
        synchronized (lock) {
            requirePresent();
            Devres<T> d = new Devres<>(value, name + " of " + address, release);
            releases.push(d::revoke);
            return d;
        }
    }

    private void requirePresent() {
        if (!present) {
            throw new DeviceGoneException(address + " has been removed");
        }
    }

    // ---- Bus hooks ----

    /** Surprise removal, step 1: the device is gone; cut the driver's register access at once. */
    void revokeBars() {
        present = false;
        Devres<?>[] snapshot;
        synchronized (lock) {
            snapshot = bars.clone();
        }
        for (Devres<?> d : snapshot) {
            if (d != null) {
                d.revoke();
            }
        }
    }

    /** After {@code remove}: release everything of the binding, most recent first. */
    void releaseBinding() {
        synchronized (lock) {
            while (!releases.isEmpty()) {
                try {
                    releases.pop().run();
                } catch (RuntimeException e) {
                    LOG.error("releasing a resource of {} failed", address, e);
                }
            }
            java.util.Arrays.fill(bars, null);
            if (present) {
                try {
                    int cmd = function.configRead(PciConfig.COMMAND, 2);
                    function.configWrite(PciConfig.COMMAND, 2, cmd & ~PciConfig.COMMAND_BUS_MASTER);
                } catch (RuntimeException e) {
                    LOG.warn("could not disable bus mastering on {}: {}", address, e.getMessage());
                }
            }
        }
    }

    void markRemoved() {
        present = false;
    }

    @Override
    public String toString() {
        return String.format("%s [%04x:%04x] class %06x", address, vendorId, deviceId, classCode);
    }
}
