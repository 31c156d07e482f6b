package dev.ferrum.agx.internal.fw;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * A pipe message: "run this work queue up to this write pointer" (Asahi {@code fw/channels.rs}
 * {@code RunWorkQueueMsg}).
 *
 * <pre>
 * 0x00 u32 type         {@link #RUN_QUEUE}
 * 0x04 u32 event_slot   the stamp slot the queue's commands signal
 * 0x08 u64 queue_info   device address of the queue's {@link QueueLayout QueueInfo}
 * 0x10 u32 wptr         the queue's new write pointer
 * 0x14 u32 queue_id     for diagnostics
 * 0x18 u32 flags        {@link #FLAG_NEW}: the firmware forgets any state it kept for this address
 * 0x1c..0x40            zero
 * </pre>
 *
 * <p>Invariants: offsets come from {@link #LAYOUT}, which is exactly one channel message long.
 */
public final class PipeMsg {
    private PipeMsg() {}

    public static final int RUN_QUEUE = 1;
    public static final int FLAG_NEW = 1;

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            Le.U32.withName("type"),
            Le.U32.withName("event_slot"),
            Le.U64.withName("queue_info"),
            Le.U32.withName("wptr"),
            Le.U32.withName("queue_id"),
            Le.U32.withName("flags"),
            MemoryLayout.paddingLayout(ChannelLayout.MSG_SIZE - 28));
    public static final long TYPE = LAYOUT.byteOffset(groupElement("type"));
    public static final long EVENT_SLOT = LAYOUT.byteOffset(groupElement("event_slot"));
    public static final long QUEUE_INFO = LAYOUT.byteOffset(groupElement("queue_info"));
    public static final long WPTR = LAYOUT.byteOffset(groupElement("wptr"));
    public static final long QUEUE_ID = LAYOUT.byteOffset(groupElement("queue_id"));
    public static final long FLAGS = LAYOUT.byteOffset(groupElement("flags"));
}
