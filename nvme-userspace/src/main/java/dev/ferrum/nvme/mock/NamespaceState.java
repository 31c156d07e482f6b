package dev.ferrum.nvme.mock;

import java.lang.foreign.MemorySegment;

/**
 * One active namespace: its size, LBA format, medium and Identify Namespace data.
 *
 * <p>Invariants: {@code store.size() == blocks << lbaShift}; {@code lbaShift} is 9 (512 B) or 12 (4 KiB);
 * {@code identify} is 4096 bytes and never changes.
 */
final class NamespaceState {
    final int nsid;
    final long blocks;
    final int lbaShift;
    final BlockStore store;
    final MemorySegment identify;

    NamespaceState(int nsid, long blocks, int lbaShift, BlockStore store, MemorySegment identify) {
        this.nsid = nsid;
        this.blocks = blocks;
        this.lbaShift = lbaShift;
        this.store = store;
        this.identify = identify;
    }
}
