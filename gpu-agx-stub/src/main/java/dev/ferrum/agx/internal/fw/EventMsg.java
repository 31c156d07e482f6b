package dev.ferrum.agx.internal.fw;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * An event message, firmware to driver (Asahi {@code fw/channels.rs} {@code EventMsg}: {@code Flag},
 * {@code Fault}, {@code Timeout}, ...).
 *
 * <pre>
 * 0x00 u32    type          {@link #FLAG}, {@link #FAULT} or {@link #TIMEOUT}
 * 0x04 u32    slot          FAULT/TIMEOUT: the event slot of the failed command
 * 0x08 u64    job_id        FAULT/TIMEOUT: the job ID the driver wrote into the command
 * 0x10 u64    address       FAULT: the GPU virtual address that faulted
 * 0x18 u32    stamp_value   FAULT/TIMEOUT: the stamp value of the failed command
 * 0x1c u32    flags         FAULT: {@link CommandLayout#FAULT_WRITE} etc.
 * 0x20 u32[4] firing        FLAG: bitmap of the 128 stamp slots that advanced (slot s = bit s%32 of word s/32)
 * 0x30..0x40                zero
 * </pre>
 *
 * <p>Invariants: offsets come from {@link #LAYOUT}, which is exactly one channel message long; the bitmap
 * covers all {@link InitDataLayout#STAMPS} slots.
 */
public final class EventMsg {
    private EventMsg() {}

    public static final int FLAG = 1;
    public static final int FAULT = 2;
    public static final int TIMEOUT = 3;
    public static final int FIRING_WORDS = InitDataLayout.STAMPS / 32;

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            Le.U32.withName("type"),
            Le.U32.withName("slot"),
            Le.U64.withName("job_id"),
            Le.U64.withName("address"),
            Le.U32.withName("stamp_value"),
            Le.U32.withName("flags"),
            MemoryLayout.sequenceLayout(FIRING_WORDS, Le.U32).withName("firing"),
            MemoryLayout.paddingLayout(ChannelLayout.MSG_SIZE - 48));
    public static final long TYPE = LAYOUT.byteOffset(groupElement("type"));
    public static final long SLOT = LAYOUT.byteOffset(groupElement("slot"));
    public static final long JOB_ID = LAYOUT.byteOffset(groupElement("job_id"));
    public static final long ADDRESS = LAYOUT.byteOffset(groupElement("address"));
    public static final long STAMP_VALUE = LAYOUT.byteOffset(groupElement("stamp_value"));
    public static final long FLAGS = LAYOUT.byteOffset(groupElement("flags"));
    public static final long FIRING = LAYOUT.byteOffset(groupElement("firing"));
}
