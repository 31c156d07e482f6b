package dev.ferrum.nvme.mock;

import java.lang.foreign.MemorySegment;

/**
 * A submission queue as the controller tracks it: its ring (the device's view of the host memory, translated once
 * at creation), the completion queue it posts to, and the controller's head and the last valid tail the host wrote.
 *
 * <p>Invariants: {@code 0 <= head, tail < size}; {@code ring} covers exactly {@code size} 64-byte entries; only the
 * controller thread touches the mutable fields.
 */
final class SubmissionQueue {
    final int id;
    final int size;
    final long base;
    final MemorySegment ring;
    final CompletionQueue cq;
    final long doorbell;
    int head;
    int tail;
    boolean deleted;

    SubmissionQueue(int id, int size, long base, MemorySegment ring, CompletionQueue cq, long doorbell) {
        this.id = id;
        this.size = size;
        this.base = base;
        this.ring = ring;
        this.cq = cq;
        this.doorbell = doorbell;
    }

    /** {@return whether fetched-but-unprocessed entries remain between head and tail} */
    boolean hasWork() {
        return head != tail;
    }
}
