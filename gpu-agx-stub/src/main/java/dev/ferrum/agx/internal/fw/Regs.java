package dev.ferrum.agx.internal.fw;

import dev.ferrum.memory.Field;
import dev.ferrum.memory.Register32;
import dev.ferrum.memory.Register64;

/**
 * BAR0 of the simulated AGX coprocessor. On Apple hardware the driver talks to the GPU's ASC coprocessor through
 * RTKit mailboxes and a handful of SGX registers; this stub folds that into one small register block.
 *
 * <pre>
 * 0x000 ID           RO   {@link #ID_VALUE} ("AGX1")
 * 0x004 VERSION      RO   firmware interface version ({@link #VERSION_VALUE})
 * 0x008 CONTROL      RW   bit 0 RUN: 1 boots the firmware from INITDATA, 0 halts it
 * 0x00c STATUS       RO   bit 0 READY, bit 1 CRASHED, bit 2 INIT_ERROR
 * 0x010 INITDATA     RW   64-bit device address of the {@link InitDataLayout init data}
 * 0x018 CRASH_CODE   RO   why the firmware crashed ({@link #CRASH_INJECTED} ...), 0 if it did not
 * 0x020 CRASH_ADDR   RO   a device address relevant to the crash (e.g. the IOVA the IOMMU blocked)
 * 0x040 + 4*ch       WO   DOORBELL of transmit channel ch ({@link #CH_DEVICE_CONTROL}, {@link #CH_PIPE})
 * 0x2000             MSI-X table (2 vectors: {@link #VECTOR_EVENT}, {@link #VECTOR_STATUS}); 0x3000 PBA
 * </pre>
 *
 * <p>Invariants: registers are naturally aligned inside BAR0; the MSI-X table and PBA do not overlap them.
 */
public final class Regs {
    private Regs() {}

    public static final int VENDOR_APPLE = 0x106b;
    public static final int DEVICE_AGX = 0xa6a0;
    /** Display controller, "other" (0x0380). */
    public static final int CLASS_GPU = 0x038000;
    public static final long BAR0_SIZE = 0x4000;
    public static final int MSIX_TABLE = 0x2000;
    public static final int MSIX_PBA = 0x3000;
    public static final int MSIX_VECTORS = 2;
    /** MSI-X vector raised when the firmware posted event messages. */
    public static final int VECTOR_EVENT = 0;
    /** MSI-X vector raised when the firmware's STATUS changed (crash). */
    public static final int VECTOR_STATUS = 1;

    public static final int ID_VALUE = 0x31584741;
    public static final int VERSION_VALUE = 0x0001_0000;

    public static final Register32 ID = Register32.at(0x000L, "ID");
    public static final Register32 VERSION = Register32.at(0x004L, "VERSION");
    public static final Register32 CONTROL = Register32.at(0x008L, "CONTROL");
    public static final Field CONTROL_RUN = CONTROL.field("RUN", 0, 1);
    public static final Register32 STATUS = Register32.at(0x00cL, "STATUS");
    public static final Field STATUS_READY = STATUS.field("READY", 0, 1);
    public static final Field STATUS_CRASHED = STATUS.field("CRASHED", 1, 1);
    public static final Field STATUS_INIT_ERROR = STATUS.field("INIT_ERROR", 2, 1);
    public static final Register64 INITDATA = Register64.at(0x010L, "INITDATA");
    public static final Register32 CRASH_CODE = Register32.at(0x018L, "CRASH_CODE");
    public static final Register64 CRASH_ADDR = Register64.at(0x020L, "CRASH_ADDR");
    public static final long DOORBELL_BASE = 0x040L;

    /** Transmit channel: device control (TLB invalidation). */
    public static final int CH_DEVICE_CONTROL = 0;
    /** Transmit channel: pipe (run a work queue). */
    public static final int CH_PIPE = 1;
    public static final int TX_CHANNELS = 2;

    public static final int CRASH_INJECTED = 1;
    public static final int CRASH_IOMMU_FAULT = 2;
    public static final int CRASH_BAD_INIT_DATA = 3;
    public static final int CRASH_BAD_MESSAGE = 4;

    /** {@return the offset of the doorbell of transmit channel {@code channel}} */
    public static long doorbell(int channel) {
        if (channel < 0 || channel >= TX_CHANNELS) {
            throw new IllegalArgumentException("transmit channel " + channel + " is not 0.." + (TX_CHANNELS - 1));
        }
        return DOORBELL_BASE + 4L * channel;
    }

    /** {@return a readable name for a crash code} */
    public static String crashReason(int code) {
        return switch (code) {
            case 0 -> "no crash code";
            case CRASH_INJECTED -> "firmware assertion (injected crash)";
            case CRASH_IOMMU_FAULT -> "firmware structure unreachable through the IOMMU";
            case CRASH_BAD_INIT_DATA -> "init data rejected";
            case CRASH_BAD_MESSAGE -> "malformed channel message";
            default -> "unknown crash code 0x" + Integer.toHexString(code);
        };
    }
}
