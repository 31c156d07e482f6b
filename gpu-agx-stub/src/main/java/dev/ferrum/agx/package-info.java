/**
 * A stub of the Apple AGX GPU driver (Asahi Linux's {@code drivers/gpu/drm/asahi}, in Rust) on Ferrum's
 * abstractions, against a simulated firmware: rings in DMA memory, a GPU page table (the UAT), event stamps, work
 * queues with the commit, submit and run states, completion processing on a workqueue, and fault, timeout and crash
 * handling. {@code gpu-agx-stub/README.md} maps each class to the Asahi file whose role it mirrors.
 *
 * <p>The user API: {@link dev.ferrum.agx.AgxDevice} (the GPU), {@link dev.ferrum.agx.GpuBuffer} (memory mapped
 * into GPU address space), {@link dev.ferrum.agx.ComputeJob} (fill, copy, saxpy), {@link dev.ferrum.agx.Fence},
 * and the failures {@link dev.ferrum.agx.GpuFaultException}, {@link dev.ferrum.agx.GpuTimeoutException} and
 * {@link dev.ferrum.agx.FirmwareCrashedException}.
 *
 * {@snippet class=dev.ferrum.agx.JavadocExamplesTest region=saxpy}
 */
package dev.ferrum.agx;
