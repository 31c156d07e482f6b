package dev.ferrum.agx.internal.fw;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * A device-control message (Asahi {@code fw/channels.rs} {@code DeviceControlMsg}; there it carries many kinds of
 * requests, here only TLB invalidation, which Asahi does through the UAT handoff region and a firmware flush).
 *
 * <pre>
 * 0x00 u32 type   {@link #TLB_INVALIDATE}
 * 0x04 u32 pad
 * 0x08 u64 va     first GPU virtual address to invalidate (page aligned)
 * 0x10 u64 size   bytes (whole pages)
 * 0x18..0x40      zero
 * </pre>
 *
 * <p>Invariants: offsets come from {@link #LAYOUT}, which is exactly one channel message long.
 */
public final class DeviceControlMsg {
    private DeviceControlMsg() {}

    public static final int TLB_INVALIDATE = 1;

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            Le.U32.withName("type"),
            Le.U32.withName("pad"),
            Le.U64.withName("va"),
            Le.U64.withName("size"),
            MemoryLayout.paddingLayout(ChannelLayout.MSG_SIZE - 24));
    public static final long TYPE = LAYOUT.byteOffset(groupElement("type"));
    public static final long VA = LAYOUT.byteOffset(groupElement("va"));
    public static final long SIZE = LAYOUT.byteOffset(groupElement("size"));
}
