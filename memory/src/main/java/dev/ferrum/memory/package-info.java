/**
 * Safe memory for device drivers: what a driver touches, checked.
 *
 * <ul>
 *   <li>{@link dev.ferrum.memory.DmaPool} and {@link dev.ferrum.memory.DmaBuffer}: page or huge-page memory,
 *       locked, with the device address it has in the device's IOMMU domain ({@link
 *       dev.ferrum.memory.DeviceAddressSpace}); pinned while a device may use it, so it cannot be freed under an
 *       in-flight DMA; every access after {@code close()} throws. {@link dev.ferrum.memory.DmaArray} indexes a
 *       buffer of equal elements (descriptor rings, queue entries).</li>
 *   <li>{@link dev.ferrum.memory.Mmio}: a register window (a PCI BAR) with bounds- and alignment-checked,
 *       little-endian accesses in Linux's orderings ({@code readl}: acquire, {@code writel}: release,
 *       {@code _relaxed}: opaque); {@link dev.ferrum.memory.Register32}, {@link dev.ferrum.memory.Register64} and
 *       {@link dev.ferrum.memory.Field} name registers and their bit fields, like the kernel's {@code register!}.
 *       </li>
 *   <li>{@link dev.ferrum.memory.Revocable}: a value that can be taken away (a device that was removed), after
 *       which nobody reaches it, and whose revocation waits for the accesses in progress.</li>
 * </ul>
 *
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=dma-buffer}
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=register-definitions}
 * {@snippet class=dev.ferrum.example.javadoc.MemoryExamplesTest region=register-access}
 *
 * <p>A driver gets its DMA pool and its register windows from {@code dev.ferrum.driver.pci.PciDevice}; the guide
 * {@code docs/writing-a-driver.md} shows them in a whole driver.
 */
package dev.ferrum.memory;
