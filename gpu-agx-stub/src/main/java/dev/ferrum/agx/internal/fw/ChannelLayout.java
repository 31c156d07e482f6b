package dev.ferrum.agx.internal.fw;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * A shared-memory channel (Asahi {@code fw/channels.rs}: {@code ChannelState}, {@code ChannelRing}): a ring of
 * {@code count} fixed-size messages plus a state block holding the write and read pointers.
 *
 * <pre>
 * ChannelState (128 bytes; producer and consumer words on separate 64-byte lines, as the firmware's are)
 *   0x00 u32 wptr   written by the producer with release ordering, after the message body
 *   0x40 u32 rptr   written by the consumer with release ordering, after it finished reading the message
 * Ring: count * {@link #MSG_SIZE} bytes; message i at i * MSG_SIZE.
 * Empty when wptr == rptr; full when (wptr + 1) % count == rptr (one slot always stays free).
 * </pre>
 *
 * <p>Both pointers are untrusted by whoever reads them: a value {@code >= count} is a protocol violation.
 *
 * <p>Invariants: offsets are derived from the layouts, never written by hand; every message is
 * {@link #MSG_SIZE} bytes.
 */
public final class ChannelLayout {
    private ChannelLayout() {}

    public static final StructLayout STATE = MemoryLayout.structLayout(
            Le.U32.withName("wptr"),
            MemoryLayout.paddingLayout(60),
            Le.U32.withName("rptr"),
            MemoryLayout.paddingLayout(60));
    public static final long WPTR = STATE.byteOffset(groupElement("wptr"));
    public static final long RPTR = STATE.byteOffset(groupElement("rptr"));

    /** Every channel message is 64 bytes. */
    public static final long MSG_SIZE = 64;

    /** The ring descriptor embedded in the init data ({@code ChannelRing} in Asahi's raw init data). */
    public static final StructLayout RING_DESC = MemoryLayout.structLayout(
            Le.U64.withName("state"),
            Le.U64.withName("ring"),
            Le.U32.withName("count"),
            Le.U32.withName("msg_size"));
    public static final long DESC_STATE = RING_DESC.byteOffset(groupElement("state"));
    public static final long DESC_RING = RING_DESC.byteOffset(groupElement("ring"));
    public static final long DESC_COUNT = RING_DESC.byteOffset(groupElement("count"));
    public static final long DESC_MSG_SIZE = RING_DESC.byteOffset(groupElement("msg_size"));

    /** Channels hold 2..4096 messages. */
    public static final int MAX_COUNT = 4096;
}
