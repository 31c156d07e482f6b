package dev.ferrum.agx.internal.fw;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * A work queue as the firmware sees it (Asahi {@code fw/workqueue.rs}: {@code QueueInfo} and {@code RingState}):
 * a ring of device addresses of {@link CommandLayout commands}, and the pointers the two sides advance.
 *
 * <pre>
 * QueueInfo (128 bytes)
 *   0x00 u64 ring         device address of ring_size u64 command addresses
 *   0x08 u32 ring_size
 *   0x0c u32 queue_id
 *   0x10 u32 cpu_wptr     driver: entries published (release), also sent in the pipe message
 *   0x40 u32 gpu_rptr     firmware: next entry it will fetch
 *   0x44 u32 gpu_doneptr  firmware: entries completed (written before the command's stamp)
 *                         (the driver reads neither firmware pointer: it counts completions by stamps)
 *   0x48 u32 cpu_freeptr  driver: entries whose resources it released
 * </pre>
 *
 * <p>Invariants: offsets come from {@link #INFO}; pointers written by the driver and by the firmware lie
 * on different 64-byte lines.
 */
public final class QueueLayout {
    private QueueLayout() {}

    public static final StructLayout INFO = MemoryLayout.structLayout(
            Le.U64.withName("ring"),
            Le.U32.withName("ring_size"),
            Le.U32.withName("queue_id"),
            Le.U32.withName("cpu_wptr"),
            MemoryLayout.paddingLayout(44),
            Le.U32.withName("gpu_rptr"),
            Le.U32.withName("gpu_doneptr"),
            Le.U32.withName("cpu_freeptr"),
            MemoryLayout.paddingLayout(52));
    public static final long RING = INFO.byteOffset(groupElement("ring"));
    public static final long RING_SIZE = INFO.byteOffset(groupElement("ring_size"));
    public static final long QUEUE_ID = INFO.byteOffset(groupElement("queue_id"));
    public static final long CPU_WPTR = INFO.byteOffset(groupElement("cpu_wptr"));
    public static final long GPU_RPTR = INFO.byteOffset(groupElement("gpu_rptr"));
    public static final long GPU_DONEPTR = INFO.byteOffset(groupElement("gpu_doneptr"));
    public static final long CPU_FREEPTR = INFO.byteOffset(groupElement("cpu_freeptr"));

    /** Each ring entry is the u64 device address of a command. */
    public static final long ENTRY_SIZE = 8;
    /** Ring sizes the firmware accepts: 2..4096 entries. */
    public static final int MAX_RING_SIZE = 4096;
}
