/**
 * The simulated AGX GPU firmware: {@link dev.ferrum.agx.firmware.AgxFirmware}, a device model on the mock PCI bus
 * that boots from the driver's init data, consumes the driver's channels, walks the GPU page tables it finds in DMA
 * memory (through the mock IOMMU), runs compute jobs, advances event stamps and posts events, and offers fault
 * injection (crashes, hung jobs, and protocol misbehaviour: raw events, stamps, ring and queue pointers, result
 * blocks) for the driver's tests.
 *
 * {@snippet class=dev.ferrum.agx.JavadocExamplesTest region=firmware}
 */
package dev.ferrum.agx.firmware;
