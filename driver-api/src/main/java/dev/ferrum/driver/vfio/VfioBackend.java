package dev.ferrum.driver.vfio;

import dev.ferrum.driver.pci.DeviceGoneException;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.internal.InterruptDispatcher;
import dev.ferrum.driver.pci.spi.HotplugListener;
import dev.ferrum.driver.pci.spi.PciBackend;
import dev.ferrum.driver.pci.spi.PciFunction;
import dev.ferrum.driver.vfio.internal.Sysfs;
import dev.ferrum.driver.vfio.internal.VfioContainer;
import dev.ferrum.driver.vfio.internal.VfioErrors;
import dev.ferrum.driver.vfio.internal.VfioFunction;
import dev.ferrum.driver.vfio.internal.VfioGroup;
import dev.ferrum.memory.DeviceAddressSpace;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The real-hardware PCI backend: PCI functions bound to {@code vfio-pci}, opened through Linux VFIO, all in one
 * VFIO container (one IOMMU address space). Hand it to {@link dev.ferrum.driver.pci.PciBus#open}:
 *
 * {@snippet class=dev.ferrum.example.javadoc.VfioExamplesTest region=open}
 *
 * <p>Opening checks, for each function and before touching {@code /dev/vfio}: that it exists, that it has an IOMMU
 * group, and that it is bound to vfio-pci; then it opens the container ({@code /dev/vfio/vfio}: API version,
 * type1v2 or type1 IOMMU), each group once ({@code /dev/vfio/N}: viable, attached to the container; the IOMMU type
 * is set after the first), and each device ({@code VFIO_GROUP_GET_DEVICE_FD}). Every failure a user can fix is a
 * {@link VfioException} saying how (see the package documentation for the list). If opening fails, everything
 * opened so far is closed again.
 *
 * <p>What the functions provide: config space via the VFIO config region (pread/pwrite); BARs as {@code mmap}s of
 * the device file bound to the arena {@code PciDevice} gives (closing the arena unmaps); the part of a BAR that
 * cannot be mapped through {@link #barRead}/{@link #barWrite}; DMA through {@link #addressSpace()}
 * ({@code VFIO_IOMMU_MAP_DMA}); MSI-X via {@code VFIO_DEVICE_SET_IRQS} to the eventfds the PCI layer creates;
 * reset via {@code VFIO_DEVICE_RESET}. DMA memory must be locked ({@link dev.ferrum.memory.DmaPool.MemoryLock#REQUIRE}).
 *
 * <p>Removal: when the kernel wants a device back while this process holds it (the device is being removed, e.g.
 * {@code echo 1 > /sys/bus/pci/devices/BDF/remove}, a hot-unplug, or unbound from vfio-pci), vfio-pci signals the
 * device's request interrupt and blocks the remover until the device is released. A thread of this backend waits
 * for that signal and hands the function to the {@link dev.ferrum.driver.pci.PciBus} as an orderly removal: the
 * driver's {@code remove} runs while the device still answers, the binding's resources are released (its BAR
 * windows revoked and unmapped, its DMA unmapped), and the device file is closed, which lets the kernel finish.
 * Without a bus the backend closes the function itself. Removed functions leave {@link #functions()}.
 *
 * <p>Invariants: the functions listed are those opened, in the order given, minus those removed at the kernel's
 * request; all share the container's address space; {@link #close()} stops the removal-request thread, closes
 * functions, then unmaps remaining DMA, then closes groups and the container, each once.
 *
 * <p>Thread-safe.
 */
public final class VfioBackend implements PciBackend {
    private static final Logger LOG = LoggerFactory.getLogger(VfioBackend.class);

    private final VfioContainer container;
    private final Map<PciAddress, VfioFunction> functions; // guarded by this
    private final Set<PciAddress> removed = new LinkedHashSet<>(); // guarded by this
    private final boolean noIommu;
    private volatile HotplugListener listener;
    private InterruptDispatcher watcher; // removal requests: one eventfd per watched function
    private boolean closed;

    private VfioBackend(VfioContainer container, Map<PciAddress, VfioFunction> functions, boolean noIommu) {
        this.container = container;
        this.functions = functions;
        this.noIommu = noIommu;
    }

    /**
     * Opens {@code devices} in one container, with the IOMMU.
     *
     * @throws VfioException            for any problem a user can fix (the message says how)
     * @throws IllegalArgumentException if the list is empty or names a function twice
     */
    public static VfioBackend open(List<PciAddress> devices) {
        return builder().devices(devices).open();
    }

    /** Opens {@code devices}; see {@link #open(List)}. */
    public static VfioBackend open(PciAddress... devices) {
        return open(List.of(devices));
    }

    /** {@return a builder, for options such as no-IOMMU mode} */
    public static Builder builder() {
        return new Builder();
    }

    private static VfioBackend open(Builder b) {
        if (b.devices.isEmpty()) {
            throw new IllegalArgumentException("name at least one PCI function to open through VFIO");
        }
        Sysfs sysfs = new Sysfs(b.sysfsRoot);
        Map<PciAddress, Integer> groupOf = new LinkedHashMap<>();
        for (PciAddress a : b.devices) {
            groupOf.put(a, locate(sysfs, a, b.noIommu));
        }
        if (b.noIommu) {
            LOG.warn("VFIO no-IOMMU mode: the devices {} can read and write all of RAM; DMA is not confined",
                    b.devices);
        }
        VfioContainer container = VfioContainer.open(b.devRoot, sysfs, b.noIommu, b.pagemap);
        Map<PciAddress, VfioFunction> opened = new LinkedHashMap<>();
        try {
            for (Map.Entry<PciAddress, Integer> e : groupOf.entrySet()) {
                VfioGroup group = container.group(e.getValue(), e.getKey());
                opened.put(e.getKey(), VfioFunction.open(group, e.getKey(), container.addressSpace()));
            }
        } catch (RuntimeException e) {
            for (VfioFunction f : opened.values()) {
                try {
                    f.close();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            container.close();
            throw e;
        }
        VfioBackend backend = new VfioBackend(container, opened, b.noIommu);
        backend.watchRemovalRequests();
        LOG.info("VFIO: opened {} with a {} IOMMU ({})", opened.keySet(), container.iommuType(),
                container.addressSpace().describe());
        return backend;
    }

    /** Starts the thread that answers the kernel's removal requests, for the functions that can receive them. */
    private void watchRemovalRequests() {
        List<VfioFunction> watched = functions.values().stream().filter(VfioFunction::supportsRemovalRequest).toList();
        if (watched.size() < functions.size()) {
            LOG.warn("VFIO: no request interrupt for {}: removing or unbinding them will block until this process "
                    + "closes the backend", functions.values().stream()
                    .filter(f -> !f.supportsRemovalRequest()).map(VfioFunction::address).toList());
        }
        if (watched.isEmpty()) {
            return;
        }
        try {
            String name = String.valueOf(watched.getFirst().address());
            // The kernel re-signals every 10 s until it has the device: release() ignores repeats.
            watcher = new InterruptDispatcher("vfio-req-" + name, "VFIO removal-request thread of " + name,
                    watched.size(), (i, count) -> {
                        try {
                            release(watched.get(i));
                        } catch (RuntimeException | Error e) {
                            LOG.error("VFIO: releasing {} at the kernel's request failed", watched.get(i), e);
                        }
                    });
            int[] eventfds = watcher.eventfds();
            for (int i = 0; i < eventfds.length; i++) {
                watched.get(i).enableRemovalRequest(eventfds[i]);
            }
        } catch (RuntimeException e) {
            if (watcher != null) {
                watcher.close();
                watcher = null;
            }
            LOG.warn("VFIO: cannot route the request interrupts of {} ({}); removing or unbinding them will block "
                    + "until this process closes the backend", functions.keySet(), e.getMessage());
        }
    }

    /** The kernel asked for {@code f} back: release it (see the class documentation). On the watcher thread. */
    private void release(VfioFunction f) {
        synchronized (this) {
            if (closed || functions.get(f.address()) != f) {
                return;
            }
        }
        HotplugListener l = listener;
        LOG.warn("VFIO: the kernel asks for {} back (removal or unbind requested); releasing it", f.address());
        try {
            if (l != null) {
                l.removalRequested(f);
            }
        } finally {
            synchronized (this) {
                functions.remove(f.address(), f);
                removed.add(f.address());
            }
            f.close();
        }
        if (l == null) {
            LOG.warn("VFIO: closed {} (no PCI bus on this backend); BAR mappings made through it keep it busy "
                    + "in the kernel until their arenas close", f.address());
        } else {
            LOG.info("VFIO: released {}", f.address());
        }
    }

    /** The checks that need only sysfs, in the order that finds the root cause first; returns the IOMMU group. */
    private static int locate(Sysfs sysfs, PciAddress a, boolean noIommu) {
        if (!sysfs.exists(a)) {
            throw VfioErrors.deviceNotFound(sysfs, a);
        }
        OptionalInt group = sysfs.iommuGroup(a);
        Optional<String> driver = sysfs.driver(a);
        // Without an IOMMU vfio-pci cannot even bind, so the missing group is the root cause. In no-IOMMU mode the
        // group appears only when vfio-pci binds, so the binding is checked first.
        if (group.isEmpty() && !noIommu) {
            throw VfioErrors.noIommuGroup(sysfs, a);
        }
        if (driver.isEmpty() || !driver.get().equals(Sysfs.VFIO_PCI)) {
            throw VfioErrors.notBoundToVfio(sysfs, a, driver);
        }
        if (group.isEmpty()) {
            throw VfioErrors.noIommuGroup(sysfs, a);
        }
        return group.getAsInt();
    }

    @Override
    public String name() {
        return noIommu ? "vfio-noiommu" : "vfio";
    }

    /** {@return the functions open: those opened, minus those released at the kernel's request} */
    @Override
    public synchronized List<PciFunction> functions() {
        return new ArrayList<>(functions.values());
    }

    /**
     * Sets the listener told of removal requests (see the class documentation); this backend reports no additions
     * (it opens only the functions it is given).
     */
    @Override
    public void setHotplugListener(HotplugListener listener) {
        this.listener = listener;
    }

    /** {@return the DMA address space shared by all functions of this backend (the container's IOMMU domain)} */
    public DeviceAddressSpace addressSpace() {
        return container.addressSpace();
    }

    /** {@return the IOMMU type in use: {@code "type1v2"}, {@code "type1"} or {@code "no-IOMMU"}} */
    public String iommuType() {
        return container.iommuType();
    }

    /** {@return the IOMMU group of {@code address}} */
    public int iommuGroup(PciAddress address) {
        return function(address).iommuGroup();
    }

    /** {@return whether the kernel can reset {@code address} ({@code VFIO_DEVICE_FLAGS_RESET})} */
    public boolean resetSupported(PciAddress address) {
        return function(address).resetSupported();
    }

    /**
     * Reads {@code width} bytes (1, 2, 4 or 8) of BAR {@code bar} of {@code address} at {@code offset} with a
     * {@code pread} on the device file. This reaches every part of the BAR, including what cannot be mapped (a
     * sparse-mmap hole such as an MSI-X table the kernel protects), at the cost of one system call per access: for
     * rare accesses, not hot paths.
     *
     * @return the value, zero-extended, little endian
     * @throws IndexOutOfBoundsException if the access is not inside the BAR
     * @throws IllegalArgumentException  if the width is invalid, the offset misaligned, or the BAR not readable
     * @throws NoSuchElementException    if the backend did not open {@code address}
     * @throws DeviceGoneException       if the function was released at the kernel's request
     */
    public long barRead(PciAddress address, int bar, long offset, int width) {
        return function(address).barRead(bar, offset, width);
    }

    /** Writes {@code width} bytes of {@code value} with a {@code pwrite}; see {@link #barRead}. */
    public void barWrite(PciAddress address, int bar, long offset, int width, long value) {
        function(address).barWrite(bar, offset, width, value);
    }

    private synchronized VfioFunction function(PciAddress address) {
        VfioFunction f = functions.get(address);
        if (f == null) {
            if (removed.contains(address)) {
                throw new DeviceGoneException(address + " was released at the kernel's request (the device was "
                        + "removed or unbound from vfio-pci)");
            }
            throw new NoSuchElementException(address + " was not opened by this VFIO backend (it has "
                    + functions.keySet() + ")");
        }
        return f;
    }

    /**
     * Stops answering removal requests, closes every function (turning MSI-X off), unmaps DMA still mapped, and
     * closes the groups and the container. Idempotent. BAR mappings handed out stay valid until their arenas close.
     */
    @Override
    public void close() {
        InterruptDispatcher w;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            w = watcher;
        }
        if (w != null) {
            w.close(); // outside the lock: a removal in progress on that thread takes it briefly
        }
        List<VfioFunction> open;
        synchronized (this) {
            open = List.copyOf(functions.values());
        }
        for (VfioFunction f : open) {
            try {
                f.close();
            } catch (RuntimeException e) {
                LOG.warn("closing {} failed: {}", f, e.getMessage());
            }
        }
        container.close();
    }

    @Override
    public String toString() {
        return "VfioBackend" + functions.keySet() + " (" + container.iommuType() + ")";
    }

    /**
     * Options of {@link VfioBackend}.
     *
     * <p>No-IOMMU mode ({@link #unsafeNoIommu}) is for machines without a usable IOMMU; see the package
     * documentation for what it costs in safety and what it needs.
     */
    public static final class Builder {
        private final Set<PciAddress> devices = new LinkedHashSet<>();
        private boolean noIommu;
        private Path sysfsRoot = Path.of("/sys");
        private Path devRoot = Path.of("/dev");
        private Path pagemap = Path.of("/proc/self/pagemap");

        private Builder() {}

        /**
         * Adds a function to open.
         *
         * @throws IllegalArgumentException if it was already added
         */
        public Builder device(PciAddress address) {
            Objects.requireNonNull(address, "address");
            if (!devices.add(address)) {
                throw new IllegalArgumentException(address + " is named twice");
            }
            return this;
        }

        /** Adds functions to open; see {@link #device}. */
        public Builder devices(Collection<PciAddress> addresses) {
            addresses.forEach(this::device);
            return this;
        }

        /**
         * Uses VFIO's unsafe no-IOMMU mode ({@code /dev/vfio/noiommu-N}): the device sees physical addresses and
         * can reach all of RAM. Needs a kernel with {@code CONFIG_VFIO_NOIOMMU}, {@code enable_unsafe_noiommu_mode}
         * set, root ({@code CAP_SYS_ADMIN}, for {@code /proc/self/pagemap}) and huge-page DMA buffers. Default off.
         */
        public Builder unsafeNoIommu(boolean enable) {
            this.noIommu = enable;
            return this;
        }

        /** For tests: the sysfs root (default {@code /sys}). */
        Builder sysfsRoot(Path root) {
            this.sysfsRoot = Objects.requireNonNull(root);
            return this;
        }

        /** For tests: the {@code /dev} root. */
        Builder devRoot(Path root) {
            this.devRoot = Objects.requireNonNull(root);
            return this;
        }

        /**
         * Opens the functions.
         *
         * @throws VfioException            for any problem a user can fix (the message says how)
         * @throws IllegalArgumentException if no function was named
         */
        public VfioBackend open() {
            return VfioBackend.open(this);
        }
    }
}
