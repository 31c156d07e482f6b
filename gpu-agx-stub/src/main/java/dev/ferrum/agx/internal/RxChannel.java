package dev.ferrum.agx.internal;

import dev.ferrum.agx.internal.fw.ChannelLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;
import dev.ferrum.memory.DmaPool;

import java.lang.foreign.MemorySegment;

/**
 * A firmware-to-driver channel (Asahi {@code channel.rs} {@code RxChannel}): the firmware writes 64-byte messages
 * and advances {@code wptr}; the driver reads them and advances {@code rptr} (layout: {@link ChannelLayout}).
 *
 * <p>Memory ordering: {@code wptr} is read with acquire ordering, so the message bodies before it are visible;
 * {@code rptr} is written with release ordering after a message was handled, so the firmware reuses the slot only
 * once the driver is done with it.
 *
 * <p>Invariants: a firmware {@code wptr} outside {@code [0, count)} is never used ({@link ProtocolViolation});
 * messages are handed to the handler in ring order, each once; one poll runs at a time (the channel's lock).
 */
public final class RxChannel implements AutoCloseable {
    /** Receives messages; reads what it needs from the ring before returning (the slot is then released). */
    public interface Handler {
        void message(MemorySegment ring, long offset);
    }

    private static final class State {
        int rptr;
    }

    private final String name;
    private final int count;
    private final RingMemory memory;
    private final MemorySegment stateView;
    private final MemorySegment ringView;
    private final Mutex<State> lock = new Mutex<>(new State(), LockClass.named("agx.channel.rx"));

    public RxChannel(String name, DmaPool pool, int count) {
        if (count < 2 || count > ChannelLayout.MAX_COUNT) {
            throw new IllegalArgumentException(name + " channel size " + count + " is not 2.."
                    + ChannelLayout.MAX_COUNT);
        }
        this.name = name;
        this.count = count;
        this.memory = new RingMemory(pool, ChannelLayout.STATE.byteSize(), count * ChannelLayout.MSG_SIZE);
        this.stateView = memory.control().segment();
        this.ringView = memory.entries().segment();
    }

    /** Writes this channel's ring descriptor at {@code offset} of the init data. */
    public void describe(MemorySegment initData, long offset) {
        describe(memory, count, initData, offset);
    }

    /** Writes the {@link ChannelLayout#RING_DESC} of a channel's memory. */
    static void describe(RingMemory memory, int count, MemorySegment initData, long offset) {
        Le.LONG.set(initData, offset + ChannelLayout.DESC_STATE, memory.control().deviceAddress());
        Le.LONG.set(initData, offset + ChannelLayout.DESC_RING, memory.entries().deviceAddress());
        Le.INT.set(initData, offset + ChannelLayout.DESC_COUNT, count);
        Le.INT.set(initData, offset + ChannelLayout.DESC_MSG_SIZE, (int) ChannelLayout.MSG_SIZE);
    }

    /**
     * Hands every message the firmware has published to {@code handler}, at most {@code max}.
     *
     * @return the number of messages handled
     * @throws ProtocolViolation if the firmware's write pointer is out of range (nothing is consumed)
     */
    public int poll(Handler handler, int max) {
        try (Guard<State> g = lock.lock()) {
            State s = g.get();
            // Acquire: pairs with the firmware's release store of wptr after writing the message bodies.
            int w = (int) Le.INT.getAcquire(stateView, ChannelLayout.WPTR);
            if (w < 0 || w >= count) {
                throw new ProtocolViolation(name + " channel: the firmware's write pointer is " + w + ", outside 0.."
                        + (count - 1));
            }
            int n = 0;
            while (s.rptr != w && n < max) {
                handler.message(ringView, (long) s.rptr * ChannelLayout.MSG_SIZE);
                s.rptr = (s.rptr + 1) % count;
                // Release: our reads of the slot happen before the firmware may overwrite it.
                Le.INT.setRelease(stateView, ChannelLayout.RPTR, s.rptr);
                n++;
            }
            return n;
        }
    }

    /** Frees the ring memory. The firmware must be stopped. */
    @Override
    public void close() {
        memory.close();
    }

    @Override
    public String toString() {
        return "RxChannel[" + name + ", " + count + " slots]";
    }
}
