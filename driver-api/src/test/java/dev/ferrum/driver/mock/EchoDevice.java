package dev.ferrum.driver.mock;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A small test device: the driver puts a buffer's device address and length in registers and rings a doorbell; the
 * device reads the buffer by DMA, adds 1 to every byte, writes it back, records the doorbell value in COMPLETED and
 * raises MSI-X vector 0. A DMA fault sets STATUS.ERROR instead of touching memory.
 */
public final class EchoDevice extends DeviceModel {
    public static final int VENDOR = 0x1de5;
    public static final int DEVICE = 0xec40;
    public static final int CLASS = 0xff0000;
    public static final long ID = 0x00;
    public static final long STATUS = 0x04;
    public static final long DMA_ADDR = 0x08;
    public static final long DMA_LEN = 0x10;
    public static final long DOORBELL = 0x14;
    public static final long COMPLETED = 0x18;
    public static final int ID_VALUE = 0xec400001;
    public static final int STATUS_READY = 1;
    public static final int STATUS_ERROR = 2;

    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private int lastDoorbell;
    public volatile int resets;

    public EchoDevice() {
        this(DeviceConfig.builder(VENDOR, DEVICE, CLASS).subsystem(0x1de5, 0x0001)
                .bar(0, 0x1000).msix(2, 0, 0x800, 0xc00).build());
    }

    public EchoDevice(DeviceConfig config) {
        super(config);
        reset();
    }

    @Override
    protected boolean process() {
        MemorySegment regs = bar(0);
        int doorbell = (int) INT.getAcquire(regs, DOORBELL);
        if (doorbell == lastDoorbell) {
            return false;
        }
        lastDoorbell = doorbell;
        long addr = (long) LONG.getAcquire(regs, DMA_ADDR);
        int len = (int) INT.getAcquire(regs, DMA_LEN);
        try {
            MemorySegment data = MemorySegment.ofArray(new byte[len]);
            dma().read(addr, data);
            for (int i = 0; i < len; i++) {
                data.set(ValueLayout.JAVA_BYTE, i, (byte) (data.get(ValueLayout.JAVA_BYTE, i) + 1));
            }
            dma().write(addr, data);
        } catch (IommuFaultException e) {
            INT.setRelease(regs, STATUS, (int) INT.getAcquire(regs, STATUS) | STATUS_ERROR);
        }
        INT.setRelease(regs, COMPLETED, doorbell);
        raiseInterrupt(0);
        return true;
    }

    @Override
    protected void reset() {
        resets++;
        MemorySegment regs = bar(0);
        regs.asSlice(0, 0x800).fill((byte) 0);
        INT.setRelease(regs, ID, ID_VALUE);
        INT.setRelease(regs, STATUS, STATUS_READY);
        lastDoorbell = 0;
    }
}
