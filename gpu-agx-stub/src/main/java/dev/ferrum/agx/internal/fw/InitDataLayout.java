package dev.ferrum.agx.internal.fw;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * The init data the firmware reads when it boots (Asahi {@code fw/initdata.rs}; there a tree of RegionA/B/C and
 * HwData structures, here one flat block). The driver writes it, puts its device address in
 * {@link Regs#INITDATA} and sets {@link Regs#CONTROL_RUN}.
 *
 * <pre>
 * 0x00 u32  magic          {@link #MAGIC} ("AGXI")
 * 0x04 u32  version        {@link #VERSION}
 * 0x08 u64  uat_ttbr       device address of the UAT level-0 table ({@link Pte})
 * 0x10 desc devctl_ring    {@link ChannelLayout#RING_DESC}: driver -> firmware, TLB invalidations
 * 0x28 desc pipe_ring      driver -> firmware, run-work-queue requests
 * 0x40 desc event_ring     firmware -> driver, events
 * 0x58 u64  stamps         device address of stamp_count u32 event stamps
 * 0x60 u32  stamp_count    {@link #STAMPS}
 * 0x64 u32  event_vector   MSI-X vector for event messages
 * 0x68 u32  status_vector  MSI-X vector for status changes
 * 0x6c u32  reserved       0
 * </pre>
 *
 * <p>Invariants: offsets come from {@link #LAYOUT}; the firmware reads the block once, at boot.
 */
public final class InitDataLayout {
    private InitDataLayout() {}

    public static final int MAGIC = 0x49584741;
    public static final int VERSION = 1;
    /** The firmware manages 128 event stamps (Asahi {@code event.rs} {@code NUM_EVENTS}). */
    public static final int STAMPS = 128;

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            Le.U32.withName("magic"),
            Le.U32.withName("version"),
            Le.U64.withName("uat_ttbr"),
            ChannelLayout.RING_DESC.withName("devctl_ring"),
            ChannelLayout.RING_DESC.withName("pipe_ring"),
            ChannelLayout.RING_DESC.withName("event_ring"),
            Le.U64.withName("stamps"),
            Le.U32.withName("stamp_count"),
            Le.U32.withName("event_vector"),
            Le.U32.withName("status_vector"),
            Le.U32.withName("reserved"));

    public static final long MAGIC_OFF = LAYOUT.byteOffset(groupElement("magic"));
    public static final long VERSION_OFF = LAYOUT.byteOffset(groupElement("version"));
    public static final long UAT_TTBR = LAYOUT.byteOffset(groupElement("uat_ttbr"));
    public static final long DEVCTL_RING = LAYOUT.byteOffset(groupElement("devctl_ring"));
    public static final long PIPE_RING = LAYOUT.byteOffset(groupElement("pipe_ring"));
    public static final long EVENT_RING = LAYOUT.byteOffset(groupElement("event_ring"));
    public static final long STAMPS_OFF = LAYOUT.byteOffset(groupElement("stamps"));
    public static final long STAMP_COUNT = LAYOUT.byteOffset(groupElement("stamp_count"));
    public static final long EVENT_VECTOR = LAYOUT.byteOffset(groupElement("event_vector"));
    public static final long STATUS_VECTOR = LAYOUT.byteOffset(groupElement("status_vector"));
}
