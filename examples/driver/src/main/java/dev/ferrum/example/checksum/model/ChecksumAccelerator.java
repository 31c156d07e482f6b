package dev.ferrum.example.checksum.model;

import dev.ferrum.driver.mock.DeviceConfig;
import dev.ferrum.driver.mock.DeviceModel;
import dev.ferrum.driver.mock.IommuFaultException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The CSUM-1 checksum accelerator, simulated on the mock PCI bus: the device of the driver-writing guide
 * ({@code docs/writing-a-driver.md}, "The device", holds its datasheet). It is written from the datasheet alone,
 * as hardware would be: it shares no code with the driver.
 *
 * <p>The driver gives the device a ring of 32-byte descriptors in DMA memory ({@code RING_BASE}, {@code RING_SIZE})
 * and sets {@code CTRL.EN}; the device resets {@code HEAD} and {@code DOORBELL} to 0 and answers with
 * {@code STATUS.RDY}. The driver then writes a descriptor (the
 * device address and length of the data, the operation) and rings the doorbell with the number of descriptors
 * submitted so far. For each new descriptor the device reads the data by DMA, computes its CRC-32C, writes the
 * result and then the descriptor's status word ({@code DONE} and a code), advances {@code HEAD}, and after each
 * batch raises MSI-X vector 0 if {@code CTRL.IRQ_EN} is set. Clearing {@code CTRL.EN} stops it: once {@code RDY}
 * reads 0 it does no more DMA.
 *
 * <p>Errors: a descriptor with a bad operation or length, or whose data the IOMMU blocks, completes with an error
 * code (a blocked access also sets the sticky {@code STATUS.FAULT}). A bad ring configuration, a doorbell that
 * claims more descriptors than the ring holds, or a ring the IOMMU blocks halts the device: {@code STATUS.HALTED}
 * with the cause in {@code STATUS.ERROR}, and an interrupt. Clearing {@code CTRL.EN} acknowledges a halt.
 *
 * <p>Fault injection for tests: {@link #corruptDataAddresses(int)} (the device misreads addresses, and the IOMMU
 * must contain it), {@link #stall(boolean)} (a busy device: jobs stay in flight) and {@link #ignoreDisable(boolean)}
 * (a device that does not stop).
 *
 * <p>Invariants: the device touches host memory only through the mock IOMMU ({@link #dma()}); {@code HEAD} never
 * passes the doorbell; a descriptor's status word is written after its result, with release ordering.
 */
public final class ChecksumAccelerator extends DeviceModel {
    /** PCI vendor ID (the Ferrum test vendor). */
    public static final int VENDOR_ID = 0x1de5;
    /** PCI device ID of CSUM-1. */
    public static final int DEVICE_ID = 0xc5c1;
    /** PCI class code: processing accelerator (base class 0x12). */
    public static final int CLASS_CODE = 0x120000;
    /** The largest ring the device accepts, in descriptors. */
    public static final int MAX_RING_ENTRIES = 1 << 10;
    /** The largest job, in bytes. */
    public static final int MAX_LENGTH = 1 << 20;

    // BAR0 registers (offsets in bytes).
    static final long ID = 0x00L;
    static final long CAPS = 0x04L;
    static final long CTRL = 0x08L;
    static final long STATUS = 0x0cL;
    static final long RING_BASE = 0x10L;
    static final long RING_SIZE = 0x18L;
    static final long DOORBELL = 0x1cL;
    static final long HEAD = 0x20L;
    private static final long REGISTERS_END = 0x100L;

    private static final int ID_VALUE = 0x4353_0001; // MAGIC "CS", version 1
    private static final int CAPS_VALUE = 10 | 20 << 8; // ring 2^10 descriptors, jobs 2^20 bytes
    private static final int CTRL_EN = 1;
    private static final int CTRL_IRQ_EN = 1 << 1;
    private static final int STATUS_RDY = 1;
    private static final int STATUS_HALTED = 1 << 1;
    private static final int STATUS_FAULT = 1 << 2;
    private static final int STATUS_ERROR_SHIFT = 8;

    /** {@code STATUS.ERROR}: the ring base or size is invalid. */
    public static final int ERROR_BAD_RING = 1;
    /** {@code STATUS.ERROR}: the IOMMU blocked an access to the ring. */
    public static final int ERROR_RING_FAULT = 2;
    /** {@code STATUS.ERROR}: the doorbell claimed more descriptors than the ring holds. */
    public static final int ERROR_BAD_DOORBELL = 3;

    // Descriptors: 32 bytes, little endian.
    private static final long DESC_SIZE = 32;
    private static final long DESC_ADDRESS = 0;
    private static final long DESC_LENGTH = 8;
    private static final long DESC_OP = 12;
    private static final long DESC_RESULT = 16;
    private static final long DESC_STATUS = 20;
    private static final int OP_CRC32C = 1;
    private static final int DONE = 1 << 31;
    private static final int CODE_OK = 0;
    private static final int CODE_BAD_OP = 1;
    private static final int CODE_BAD_LENGTH = 2;
    private static final int CODE_DMA_FAULT = 3;
    /** Descriptors processed per pass before the device raises an interrupt and looks at its registers again. */
    private static final int BATCH = 16;
    /** An address bit the IOMMU never maps (the mock IOMMU's window ends at 2^39). */
    private static final long CORRUPT_BIT = 1L << 39;

    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    // Device state: touched only by process() and reset(), which the model's lock serializes.
    private final byte[] scratch = new byte[MAX_LENGTH];
    private final CRC32C crc = new CRC32C();
    private boolean running;
    private long ringBase;
    private int ringSize;
    private int head;

    // Fault injection, set by tests.
    private volatile int corruptAddresses;
    private volatile boolean ignoreDisable;
    private volatile boolean stalled;
    private final ReentrantLock passLock = new ReentrantLock();

    /** A CSUM-1 with its standard configuration: BAR0 of 4 KiB, one MSI-X vector. */
    public ChecksumAccelerator() {
        this(DeviceConfig.builder(VENDOR_ID, DEVICE_ID, CLASS_CODE).subsystem(VENDOR_ID, 0x0001)
                .bar(0, 0x1000).msix(1, 0, 0x800, 0xc00).build());
    }

    /** A CSUM-1 with another PCI identity or layout (for tests of probe). */
    public ChecksumAccelerator(DeviceConfig config) {
        super(config);
        reset();
    }

    /** The device misreads the data address of its next {@code count} descriptors (the IOMMU blocks the access). */
    public void corruptDataAddresses(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("count " + count + " is negative");
        }
        corruptAddresses = count;
    }

    /** Whether the device ignores {@code CTRL.EN} being cleared and keeps running (a device that cannot stop). */
    public void ignoreDisable(boolean ignore) {
        ignoreDisable = ignore;
    }

    /**
     * Whether the device stalls: it takes no new descriptors (it still obeys {@code CTRL}), as a busy one would.
     * Returns after a pass of the device that was under way has ended, so no descriptor submitted afterwards is
     * taken while stalled.
     */
    public void stall(boolean stall) {
        passLock.lock();
        try {
            stalled = stall;
        } finally {
            passLock.unlock();
        }
    }

    // @start region="model-process"
    @Override
    protected boolean process() {
        passLock.lock(); // only for stall(): a test's stall takes effect between two passes
        try {
            return pass(bar(0));
        } finally {
            passLock.unlock();
        }
    }

    /** One pass: look at the registers, take the ring or new descriptors, or stop. */
    private boolean pass(MemorySegment regs) {
        int ctrl = (int) INT.getAcquire(regs, CTRL);
        int status = (int) INT.getAcquire(regs, STATUS);
        if ((ctrl & CTRL_EN) == 0 && !(ignoreDisable && running)) {
            if (status == 0 && !running) {
                return false;
            }
            running = false; // stopped: no more DMA once RDY reads 0
            INT.setRelease(regs, STATUS, 0);
            return true;
        }
        if ((status & STATUS_HALTED) != 0) {
            return false;
        }
        if (!running) {
            return start(regs);
        }
        if (stalled) {
            return false;
        }
        int tail = (int) INT.getAcquire(regs, DOORBELL);
        int queued = tail - head;
        if (queued == 0) {
            return false;
        }
        if (queued < 0 || queued > ringSize) {
            return halt(regs, ctrl, ERROR_BAD_DOORBELL);
        }
        for (int i = 0; i < Math.min(queued, BATCH); i++) {
            long descriptor = ringBase + (head & (ringSize - 1)) * DESC_SIZE;
            try {
                execute(regs, descriptor);
            } catch (IommuFaultException e) {
                return halt(regs, ctrl, ERROR_RING_FAULT);
            }
            head++;
            INT.setRelease(regs, HEAD, head);
        }
        if ((ctrl & CTRL_IRQ_EN) != 0) {
            raiseInterrupt(0);
        }
        return true;
    }
    // @end

    /** {@code CTRL.EN} went from 0 to 1: take the ring configuration. */
    private boolean start(MemorySegment regs) {
        long base = (long) LONG.getAcquire(regs, RING_BASE);
        int size = (int) INT.getAcquire(regs, RING_SIZE);
        if (base == 0 || base % DESC_SIZE != 0 || size < 2 || size > MAX_RING_ENTRIES || Integer.bitCount(size) != 1) {
            return halt(regs, (int) INT.getAcquire(regs, CTRL), ERROR_BAD_RING);
        }
        ringBase = base;
        ringSize = size;
        head = 0;
        running = true;
        INT.setRelease(regs, HEAD, 0);
        INT.setRelease(regs, DOORBELL, 0); // a fresh ring: nothing submitted yet
        INT.setRelease(regs, STATUS, STATUS_RDY);
        return true;
    }

    // @start region="model-execute"
    /** Runs one descriptor; throws {@link IommuFaultException} if the descriptor itself cannot be reached. */
    private void execute(MemorySegment regs, long descriptor) {
        long address = dma().readLong(descriptor + DESC_ADDRESS);
        int length = dma().readInt(descriptor + DESC_LENGTH);
        int op = dma().readInt(descriptor + DESC_OP);
        int result = 0;
        int code;
        if (op != OP_CRC32C) {
            code = CODE_BAD_OP;
        } else if (length <= 0 || length > MAX_LENGTH) {
            code = CODE_BAD_LENGTH;
        } else {
            if (corruptAddresses > 0) {
                corruptAddresses--;
                address ^= CORRUPT_BIT;
            }
            try {
                dma().read(address, MemorySegment.ofArray(scratch).asSlice(0, length));
                crc.reset();
                crc.update(scratch, 0, length);
                result = (int) crc.getValue();
                code = CODE_OK;
            } catch (IommuFaultException e) {
                code = CODE_DMA_FAULT;
                INT.setRelease(regs, STATUS, (int) INT.getAcquire(regs, STATUS) | STATUS_FAULT);
            }
        }
        dma().writeInt(descriptor + DESC_RESULT, result);
        dma().writeInt(descriptor + DESC_STATUS, DONE | code); // release: the result is visible first
    }
    // @end

    private boolean halt(MemorySegment regs, int ctrl, int error) {
        running = false;
        int fault = (int) INT.getAcquire(regs, STATUS) & STATUS_FAULT;
        INT.setRelease(regs, STATUS, STATUS_HALTED | fault | error << STATUS_ERROR_SHIFT);
        if ((ctrl & CTRL_IRQ_EN) != 0) {
            raiseInterrupt(0);
        }
        return true;
    }

    @Override
    protected void reset() {
        MemorySegment regs = bar(0);
        regs.asSlice(0, REGISTERS_END).fill((byte) 0);
        INT.setRelease(regs, ID, ID_VALUE);
        INT.setRelease(regs, CAPS, CAPS_VALUE);
        running = false;
        ringBase = 0;
        ringSize = 0;
        head = 0;
    }
}
