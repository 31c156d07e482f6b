package dev.ferrum.nvme.mock;

import java.lang.foreign.MemorySegment;

import static dev.ferrum.nvme.mock.Layout.CQE_DW0;
import static dev.ferrum.nvme.mock.Layout.CQE_DW2;
import static dev.ferrum.nvme.mock.Layout.CQE_SHIFT;
import static dev.ferrum.nvme.mock.Layout.U64;

/**
 * A completion queue as the controller tracks it: its ring (translated once at creation), the controller's tail and
 * phase tag, the last head the host released, and its interrupt.
 *
 * <p>Invariants: {@code 0 <= head, tail < size}; the controller never writes the entry at {@code head - 1}
 * (one slot stays empty, so a full queue is {@code tail + 1 == head}) and so never overwrites an entry the host has
 * not consumed; the phase tag flips exactly when {@code tail} wraps to 0.
 */
final class CompletionQueue {
    final int id;
    final int size;
    final long base;
    final MemorySegment ring;
    final boolean interruptsEnabled;
    final int vector;
    final long doorbell;
    int head;
    int tail;
    int phase = 1;
    int submissionQueues;
    boolean interruptPending;
    /** The last invalid head value reported, so one bad write is reported once. */
    int rejectedHead = -1;
    boolean deleted;

    CompletionQueue(int id, int size, long base, MemorySegment ring, boolean interruptsEnabled, int vector,
                    long doorbell) {
        this.id = id;
        this.size = size;
        this.base = base;
        this.ring = ring;
        this.interruptsEnabled = interruptsEnabled;
        this.vector = vector;
        this.doorbell = doorbell;
    }

    /** {@return free slots as of the last head the controller read} */
    int free() {
        int used = tail - head;
        if (used < 0) {
            used += size;
        }
        return size - 1 - used;
    }

    /** {@return the number of entries posted and not yet released by the host, as of the last head read} */
    int posted() {
        return size - 1 - free();
    }

    /**
     * Writes one entry at the tail and advances it. The body is written first, then DW3 (command ID, status and
     * phase tag) with release ordering, so a host that reads the phase tag with acquire sees the whole entry.
     *
     * @param status   the status field without the phase tag
     * @param badPhase write the phase tag inverted (fault injection)
     */
    void write(int dw0, int sqHead, int sqId, int cid, int status, boolean badPhase) {
        long off = (long) tail << CQE_SHIFT;
        // DW0|DW1, then DW2|DW3 as one 64-bit store, as hardware posts an entry in one write: a host reading DW2 and
        // DW3 together (the driver does) never sees a half-written pair, and need not wait on four narrower stores.
        U64.set(ring, off + CQE_DW0, Integer.toUnsignedLong(dw0));
        int p = badPhase ? phase ^ 1 : phase;
        int dw2 = (sqHead & 0xffff) | sqId << 16;
        int dw3 = (cid & 0xffff) | ((status & 0xfffe) | p) << 16;
        // Release: DW0 above is visible before the phase tag that makes the entry new for the host.
        U64.setRelease(ring, off + CQE_DW2, Integer.toUnsignedLong(dw2) | (long) dw3 << 32);
        if (++tail == size) {
            tail = 0;
            phase ^= 1;
        }
    }
}
