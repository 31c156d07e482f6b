package dev.ferrum.agx;

import dev.ferrum.agx.internal.SlotAllocator;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.driver.sync.Arc;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.time.Duration;

/**
 * The event stamps and their owners (Asahi {@code event.rs} {@code EventManager}). The firmware has 128 stamp
 * slots, u32 counters in DMA memory; completed work advances its slot's stamp and the firmware posts a flag event
 * naming the slots that fired. A work queue with work in flight borrows one slot from a {@link SlotAllocator} and
 * registers itself as its owner; {@link #signal} hands a fired slot to its owner.
 *
 * <p>Memory ordering: stamps are read with acquire ordering; the firmware writes a stamp with release ordering after
 * everything the command produced (output data, result block, queue pointers).
 *
 * <p>Invariants: a slot has an owner exactly while it is borrowed; the owner reference is an {@link Arc} handle, so
 * a queue's memory outlives every slot it owns; a slot number from the firmware is checked before it indexes
 * anything.
 */
final class EventManager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventManager.class);

    static final class Owners {
        final Arc<GpuWorkQueue>[] owners;

        @SuppressWarnings("unchecked")
        Owners(int n) {
            owners = new Arc[n];
        }
    }

    private final DmaBuffer stamps;
    private final MemorySegment stampView;
    private final SlotAllocator<Owners> slots;

    /** @param slots how many of the firmware's stamp slots to use */
    EventManager(DmaPool pool, int stampCount, int slots) {
        this.stamps = pool.allocate(4L * stampCount);
        this.stampView = stamps.segment();
        stampView.fill((byte) 0);
        this.slots = new SlotAllocator<>("agx event slots", slots, new Owners(slots), (o, s) -> { });
    }

    /** {@return the device address of the stamp array} */
    long stampsAddress() {
        return stamps.deviceAddress();
    }

    /** {@return the number of slots the driver uses} */
    int slotCount() {
        return slots.slots();
    }

    /** {@return the number of slots owned by a queue now} */
    int slotsInUse() {
        return slots.inUse();
    }

    /**
     * Borrows a slot for {@code owner}, preferring the one {@code token} names.
     *
     * @param owner a handle that the manager keeps until {@link #release}
     */
    SlotAllocator<Owners>.Slot get(SlotAllocator.Token token, Arc<GpuWorkQueue> owner, Duration timeout) {
        return slots.get(token, timeout, (o, s) -> o.owners[s] = owner);
    }

    /** Gives {@code slot} back; {@return the owner handle it held, for the caller to close outside its locks} */
    Arc<GpuWorkQueue> release(SlotAllocator<Owners>.Slot slot) {
        int s = slot.slot();
        Arc<GpuWorkQueue> owner = slots.withData(o -> {
            Arc<GpuWorkQueue> a = o.owners[s];
            o.owners[s] = null;
            return a;
        });
        slot.close();
        return owner;
    }

    /** {@return the current stamp of {@code slot}} An acquire read: what the firmware wrote before it is visible. */
    int stamp(int slot) {
        return (int) Le.INT.getAcquire(stampView, 4L * slot);
    }

    /**
     * The firmware reported that {@code slot} fired: lets its owner complete its finished work.
     *
     * @param slot already checked to be {@code < slotCount()}
     * @throws dev.ferrum.agx.internal.ProtocolViolation if the owner finds the stamp inconsistent
     */
    void signal(int slot) {
        Arc<GpuWorkQueue> owner = slots.withData(o -> o.owners[slot] == null ? null : o.owners[slot].clone());
        if (owner == null) {
            LOG.debug("event for slot {}, which has no owner (its work already completed)", slot);
            return;
        }
        try {
            owner.get().signal();
        } finally {
            owner.close();
        }
    }

    /** Makes every waiting and future {@link #get} fail with {@code reason} (the firmware is gone). */
    void shutdown(RuntimeException reason) {
        slots.shutdown(reason);
    }

    /** Frees the stamps. The firmware must be stopped. */
    @Override
    public void close() {
        stamps.close();
    }
}
