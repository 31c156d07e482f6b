package dev.ferrum.agx.internal.fw;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * A compute command (Asahi {@code fw/compute.rs} {@code RunCompute}, which describes a shader dispatch; here one of
 * three fixed kernels), and the result block the firmware fills in.
 *
 * <pre>
 * 0x00 u32 op            {@link #OP_FILL}, {@link #OP_COPY}, {@link #OP_SAXPY}
 * 0x04 u32 event_slot    stamp slot to advance on completion (0..127)
 * 0x08 u64 job_id
 * 0x10 u32 stamp_value   value written to the stamp when the command is done (success or failure)
 * 0x14 u32 timeout_ms    the firmware kills the command after this long (0: no limit)
 * 0x18 u64 src_va        GPU VA: COPY source, SAXPY x
 * 0x20 u64 dst_va        GPU VA: FILL/COPY destination, SAXPY y
 * 0x28 u64 length        FILL/COPY: bytes; SAXPY: float elements
 * 0x30 u32 scalar        FILL: the 32-bit pattern; SAXPY: the float a (IEEE-754 bits)
 * 0x34 u32 reserved
 * -- result, written by the firmware before the stamp:
 * 0x40 u32 status        {@link #STATUS_OK}, {@link #STATUS_FAULT}, {@link #STATUS_TIMEOUT}, {@link #STATUS_INVALID}
 * 0x44 u32 fault_flags   {@link #FAULT_WRITE}, {@link #FAULT_PERMISSION}, {@link #FAULT_IOMMU}
 * 0x48 u64 fault_address GPU VA of the access that faulted
 * 0x50..0x80             zero
 * </pre>
 *
 * <p>Invariants: offsets come from {@link #LAYOUT}; a command is {@link #SIZE} (128) bytes; the result block
 * is written only by the firmware, the rest only by the driver.
 */
public final class CommandLayout {
    private CommandLayout() {}

    public static final int OP_FILL = 1;
    public static final int OP_COPY = 2;
    public static final int OP_SAXPY = 3;

    public static final int STATUS_PENDING = 0;
    public static final int STATUS_OK = 1;
    public static final int STATUS_FAULT = 2;
    public static final int STATUS_TIMEOUT = 3;
    public static final int STATUS_INVALID = 4;

    /** The faulting access was a write. */
    public static final int FAULT_WRITE = 1;
    /** The page is mapped but the access is not allowed (a write to a read-only page). */
    public static final int FAULT_PERMISSION = 2;
    /** The UAT translated the address but the IOMMU blocked the resulting device address. */
    public static final int FAULT_IOMMU = 4;

    /** The largest length a command may have: 64 MiB (bytes) or 16 Mi floats. */
    public static final long MAX_BYTES = 64L << 20;

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            Le.U32.withName("op"),
            Le.U32.withName("event_slot"),
            Le.U64.withName("job_id"),
            Le.U32.withName("stamp_value"),
            Le.U32.withName("timeout_ms"),
            Le.U64.withName("src_va"),
            Le.U64.withName("dst_va"),
            Le.U64.withName("length"),
            Le.U32.withName("scalar"),
            Le.U32.withName("reserved"),
            MemoryLayout.paddingLayout(8),
            Le.U32.withName("status"),
            Le.U32.withName("fault_flags"),
            Le.U64.withName("fault_address"),
            MemoryLayout.paddingLayout(48));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OP = LAYOUT.byteOffset(groupElement("op"));
    public static final long EVENT_SLOT = LAYOUT.byteOffset(groupElement("event_slot"));
    public static final long JOB_ID = LAYOUT.byteOffset(groupElement("job_id"));
    public static final long STAMP_VALUE = LAYOUT.byteOffset(groupElement("stamp_value"));
    public static final long TIMEOUT_MS = LAYOUT.byteOffset(groupElement("timeout_ms"));
    public static final long SRC_VA = LAYOUT.byteOffset(groupElement("src_va"));
    public static final long DST_VA = LAYOUT.byteOffset(groupElement("dst_va"));
    public static final long LENGTH = LAYOUT.byteOffset(groupElement("length"));
    public static final long SCALAR = LAYOUT.byteOffset(groupElement("scalar"));
    public static final long STATUS = LAYOUT.byteOffset(groupElement("status"));
    public static final long FAULT_FLAGS = LAYOUT.byteOffset(groupElement("fault_flags"));
    public static final long FAULT_ADDRESS = LAYOUT.byteOffset(groupElement("fault_address"));
    /** The result block: status, fault flags, fault address. */
    public static final long RESULT = STATUS;
    public static final long RESULT_SIZE = 16;
}
