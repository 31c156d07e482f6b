/**
 * The real-hardware PCI backend: Linux VFIO. A driver written against {@link dev.ferrum.driver.pci.PciDevice} runs
 * unchanged on a real device once the device is bound to {@code vfio-pci} and opened through {@link
 * dev.ferrum.driver.vfio.VfioBackend}.
 *
 * {@snippet class=dev.ferrum.example.javadoc.VfioExamplesTest region=open}
 *
 * <p>Setting up a machine for it (IOMMU kernel parameters, permissions, {@code RLIMIT_MEMLOCK}, huge pages, safety)
 * is described step by step in {@code docs/vfio-box.md}.
 *
 * <h2>What a user needs</h2>
 * <ul>
 *   <li>An IOMMU, enabled: VT-d/AMD-Vi in the firmware and {@code intel_iommu=on iommu=pt} or
 *       {@code amd_iommu=on iommu=pt} on the kernel command line, with interrupt remapping.</li>
 *   <li>The function bound to {@code vfio-pci}: {@link dev.ferrum.driver.vfio.VfioSetup#bind} (refuses a device whose
 *       storage the host uses), {@code ./ferrum nvme setup --pci BDF}, or the {@code echo} commands the error
 *       message prints. Every other function of its IOMMU group must be bound to vfio-pci too (or to pci-stub,
 *       pcieport, or nothing).</li>
 *   <li>Read-write access to {@code /dev/vfio/vfio} and {@code /dev/vfio/N} (root, or {@code chown}/a udev rule),
 *       and an {@code RLIMIT_MEMLOCK} large enough for the DMA memory (root is not limited).</li>
 * </ul>
 *
 * <h2>How the backend maps the PCI model onto VFIO</h2>
 * <ul>
 *   <li><b>Container and groups.</b> One container ({@code /dev/vfio/vfio}) per backend; each IOMMU group is opened
 *       once and attached to it; the IOMMU type is type1v2, else type1. All devices of a backend share one DMA
 *       address space ({@link dev.ferrum.driver.vfio.VfioBackend#addressSpace()}).</li>
 *   <li><b>Config space</b> is the device's config region (index {@code VFIO_PCI_CONFIG_REGION_INDEX}), read and
 *       written with {@code pread}/{@code pwrite}; the kernel emulates and filters parts of it (BARs, MSI-X
 *       control).</li>
 *   <li><b>BARs.</b> Size from the region information, I/O vs memory, 64-bit and prefetchable from the BAR register.
 *       {@code PciDevice.bar(i)} maps the region with {@code mmap} on the device file, bound to the arena the PCI
 *       layer revokes (unmapped when it closes). When the kernel allows only parts of a BAR to be mapped (the
 *       sparse-mmap capability, e.g. around an MSI-X table on older kernels), the mapped window is the prefix from
 *       offset 0 up to the first hole ({@link dev.ferrum.driver.pci.spi.BarInfo#mappableSize()}); the rest of the
 *       BAR, and I/O BARs, are reachable through {@link dev.ferrum.driver.pci.PciDevice#barRead} and
 *       {@link dev.ferrum.driver.pci.PciDevice#barWrite} (or {@link dev.ferrum.driver.vfio.VfioBackend#barRead} and
 *       {@link dev.ferrum.driver.vfio.VfioBackend#barWrite}): {@code pread}/{@code pwrite} on the region, one
 *       system call per access.</li>
 *   <li><b>DMA.</b> {@code VFIO_IOMMU_MAP_DMA} maps (and pins) each {@link dev.ferrum.memory.DmaBuffer} at an IOVA
 *       from {@link dev.ferrum.memory.IovaAllocator}; {@code VFIO_IOMMU_UNMAP_DMA} removes it before the memory is
 *       freed, and only unpinned buffers are ever freed ({@link dev.ferrum.memory.DmaPool}). The IOVA window is the
 *       largest range of the kernel's IOVA-range capability ({@code VFIO_IOMMU_GET_INFO}, which excludes reserved
 *       regions such as the x86 MSI window), clipped to start at 256 MiB and 2 MiB aligned; without the capability
 *       it is {@code [0x1000_0000, 2^39)}. Buffers of 2 MiB or more get 2 MiB-aligned IOVAs. A device can reach
 *       only mapped buffers: anything else faults in the IOMMU.</li>
 *   <li><b>Interrupts.</b> MSI-X vectors are routed with {@code VFIO_DEVICE_SET_IRQS} to the eventfds of the PCI
 *       layer's interrupt thread; the vector count comes from {@code VFIO_DEVICE_GET_IRQ_INFO}.</li>
 *   <li><b>Reset</b> is {@code VFIO_DEVICE_RESET} (function-level, PM or slot reset, as the kernel chooses; config
 *       state is saved and restored around it). Functions the kernel cannot reset report
 *       {@link dev.ferrum.driver.vfio.VfioException.Reason#UNSUPPORTED}.</li>
 *   <li><b>Removal.</b> When the kernel wants a function back while the backend holds it (a hot-unplug, {@code echo 1 >
 *       /sys/bus/pci/devices/BDF/remove}, or an unbind from vfio-pci), vfio-pci signals the function's request
 *       interrupt ({@code VFIO_PCI_REQ_IRQ_INDEX}, routed to an eventfd at open) and blocks the remover until the
 *       device file and its mappings are released. A thread of the backend answers with an orderly removal through
 *       the {@link dev.ferrum.driver.pci.PciBus}: the driver's {@code remove} runs with the registers still live,
 *       then the binding's BAR windows are revoked and unmapped, its DMA unmapped, and the device file closed.</li>
 *   <li><b>Close</b>: the removal-request thread stops; functions (MSI-X off, device descriptors closed), then DMA still mapped is unmapped (its
 *       owners may still close their buffers afterwards), then groups, then the container.</li>
 * </ul>
 *
 * <h2>Errors</h2>
 * Every problem a user can fix is a {@link dev.ferrum.driver.vfio.VfioException} whose message names the device,
 * file or limit and gives the fix; {@link dev.ferrum.driver.vfio.VfioException#reason()} classifies it:
 * <ul>
 *   <li>{@code DEVICE_NOT_FOUND}: no {@code /sys/bus/pci/devices/BDF}; use an address from {@code lspci -D}.</li>
 *   <li>{@code NO_IOMMU_GROUP}: the IOMMU is off; the kernel parameters above, and how to check them.</li>
 *   <li>{@code NOT_BOUND_TO_VFIO_PCI}: names the current driver (or none) and prints the exact {@code echo}
 *       commands (and {@code modprobe vfio-pci} if needed), or {@code ./ferrum nvme setup --pci BDF}.</li>
 *   <li>{@code VFIO_UNAVAILABLE}: {@code /dev/vfio/vfio} or the group node is missing ({@code modprobe vfio-pci}).</li>
 *   <li>{@code PERMISSION_DENIED}: no access to a {@code /dev/vfio} node ({@code chown}, a udev rule, or root), or
 *       the kernel refused to pin memory, or a sysfs write needs root.</li>
 *   <li>{@code GROUP_BUSY}: the group is open elsewhere ({@code fuser -v /dev/vfio/N} shows who).</li>
 *   <li>{@code GROUP_NOT_VIABLE}: lists every member of the IOMMU group with its driver, marking the ones to bind to
 *       vfio-pci or unbind.</li>
 *   <li>{@code MEMLOCK_LIMIT}: the DMA pool's {@code mlock} or {@code VFIO_IOMMU_MAP_DMA} hit
 *       {@code RLIMIT_MEMLOCK} (VFIO counts pinned pages against it, on top of the pool's own {@code mlock}, which
 *       comes first); shows the limit and how to raise it. Type1 IOMMU only: in no-IOMMU mode an {@code mlock}
 *       failure is the pool's {@code IllegalStateException} with the same advice.</li>
 *   <li>{@code UNSUPPORTED}: API version, IOMMU type, no interrupt remapping ({@code VFIO_SET_IOMMU} EPERM), no
 *       reset method, no-IOMMU mode not available.</li>
 *   <li>{@code DEVICE_IN_USE}, {@code NOT_EXPLICITLY_NAMED}, {@code SETUP_FAILED}: {@link
 *       dev.ferrum.driver.vfio.VfioSetup} refusing a device the host uses, a wildcard, or a probe that did not
 *       bind.</li>
 * </ul>
 *
 * <h2>No-IOMMU mode (unsafe, opt-in)</h2>
 * {@link dev.ferrum.driver.vfio.VfioBackend.Builder#unsafeNoIommu(boolean)} uses VFIO without an IOMMU: the group
 * node is {@code /dev/vfio/noiommu-N}, the IOMMU type {@code VFIO_NOIOMMU_IOMMU}, and nothing confines the device:
 * it can read and write all of RAM, and the kernel taints itself. It needs a kernel built with
 * {@code CONFIG_VFIO_NOIOMMU=y}, {@code echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode} before the
 * function is bound to vfio-pci, and root. Device addresses are physical addresses read from
 * {@code /proc/self/pagemap} (the kernel shows them only with {@code CAP_SYS_ADMIN}). Because the kernel may move
 * ordinary pages, every buffer must lie within one physically contiguous 2 MiB huge page: the address space's page
 * size is 2 MiB, and a buffer whose 2 MiB region is not present, not physically contiguous or not 2 MiB aligned is
 * refused with a message saying so. The address space {@linkplain
 * dev.ferrum.memory.DeviceAddressSpace#requiresHugePages() requires huge pages}: {@code PciDevice.dmaPool()} then
 * takes them by itself (every buffer at least one 2 MiB page), and a pool of 4 KiB pages is refused when it is
 * built (such pages, transparent huge pages included, may be moved by the kernel under the device). Reserve huge
 * pages first ({@code echo 512 > /proc/sys/vm/nr_hugepages}).
 *
 * <p>Tested end to end in a test VM without an IOMMU ({@code ./ferrum vm-test --no-iommu}, part of
 * {@code ./ferrum test}): Debian's kernel is built without {@code CONFIG_VFIO_NOIOMMU}, so the harness rebuilds
 * {@code vfio.ko} from the kernel's own source package with the option on; QEMU's controller then runs Identify and
 * the NVMe driver's write/read verification on physical addresses. The pagemap parsing and its checks are also
 * unit-tested with fake pagemap files.
 *
 * <h2>Tests</h2>
 * On the host, against fake sysfs, proc and dev trees: every error above that needs no kernel object, VfioSetup's
 * checks and the exact files it writes, and the parsers of the kernel's info structures. In the test VM
 * ({@code ./ferrum vm-test}, tests tagged {@code vfio}), against the real VFIO stack and QEMU's NVMe controller:
 * config space and capabilities, BAR mapping and {@code pread}/{@code pwrite} access, DMA mapping and unmapping, MSI-X, an Identify
 * command completing with an interrupt, a command aimed at an unmapped IOVA blocked by the IOMMU, reset, a
 * VfioSetup unbind/bind round trip, the removal of the function through sysfs while a driver runs it (then a
 * rescan and a new session), and two controllers in two IOMMU groups sharing one container (each writing into a
 * buffer the other's pool mapped).
 */
package dev.ferrum.driver.vfio;
