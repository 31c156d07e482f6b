package dev.ferrum.sys;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The computed request numbers against values known from linux/vfio.h (and measured in the QEMU guest). */
class VfioIoctlTest {

    @Test
    void requestNumbersMatchTheKernel() {
        assertEquals(0x3B64L, VfioIoctl.VFIO_GET_API_VERSION);
        assertEquals(0x3B65L, VfioIoctl.VFIO_CHECK_EXTENSION);
        assertEquals(0x3B66L, VfioIoctl.VFIO_SET_IOMMU);
        assertEquals(0x3B67L, VfioIoctl.VFIO_GROUP_GET_STATUS);
        assertEquals(0x3B68L, VfioIoctl.VFIO_GROUP_SET_CONTAINER);
        assertEquals(0x3B6AL, VfioIoctl.VFIO_GROUP_GET_DEVICE_FD);
        assertEquals(0x3B6BL, VfioIoctl.VFIO_DEVICE_GET_INFO);
        assertEquals(0x3B6CL, VfioIoctl.VFIO_DEVICE_GET_REGION_INFO);
        assertEquals(0x3B6DL, VfioIoctl.VFIO_DEVICE_GET_IRQ_INFO);
        assertEquals(0x3B6EL, VfioIoctl.VFIO_DEVICE_SET_IRQS);
        assertEquals(0x3B6FL, VfioIoctl.VFIO_DEVICE_RESET);
        assertEquals(0x3B71L, VfioIoctl.VFIO_IOMMU_MAP_DMA);
        assertEquals(0x3B72L, VfioIoctl.VFIO_IOMMU_UNMAP_DMA);
    }

    @Test
    void iocEncodesDirectionAndSize() {
        // An _IOR('T', 0x13, <8-byte struct>): direction 2 (read) in bits 31:30, size 8 in bits 29:16.
        assertEquals(0x80085413L, VfioIoctl.ioc(2, 'T', 0x13, 8));
        assertThrows(IllegalArgumentException.class, () -> VfioIoctl.ioc(0, 0x100, 0, 0));
    }

    @Test
    void namesAreReadable() {
        assertEquals("VFIO_GROUP_GET_DEVICE_FD", VfioIoctl.name(VfioIoctl.VFIO_GROUP_GET_DEVICE_FD));
        assertEquals("0x5413", VfioIoctl.name(0x5413));
    }
}
