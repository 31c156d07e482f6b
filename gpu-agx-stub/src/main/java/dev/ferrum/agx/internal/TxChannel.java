package dev.ferrum.agx.internal;

import dev.ferrum.agx.internal.fw.ChannelLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.agx.internal.fw.Regs;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * A driver-to-firmware channel (Asahi {@code channel.rs} {@code TxChannel}): a ring of 64-byte messages in DMA
 * memory with a write pointer the driver advances and a read pointer the firmware advances (layout:
 * {@link ChannelLayout}). After publishing, the driver rings the channel's doorbell register.
 *
 * {@snippet class=dev.ferrum.agx.internal.ChannelTest region=send}
 *
 * <p>Memory ordering: the message body is written with plain stores; {@link Message#send()} publishes it with a
 * release store of {@code wptr}, so a firmware that acquire-reads {@code wptr} sees the whole body; the doorbell
 * write (release) follows. The firmware's {@code rptr} is read with acquire ordering before a slot is reused.
 *
 * <p>Invariants: at most {@code count - 1} messages are outstanding (full when {@code (w + 1) % n == r}); a value of
 * {@code rptr} outside {@code [0, count)} is never used as an index, and one that moved backwards or past
 * {@code wptr} never frees a slot ({@link ProtocolViolation}); one message is built at a time (the channel's
 * {@link Mutex}).
 */
public final class TxChannel implements AutoCloseable {
    private final String name;
    private final int count;
    private final RingMemory memory;
    private final MemorySegment stateView;
    private final MemorySegment ringView;
    private final Mmio regs;
    private final long doorbell;
    private final Duration fullTimeout;
    private final Mutex<Message> lock;

    /**
     * @param channel     which doorbell to ring ({@link Regs#CH_DEVICE_CONTROL}, {@link Regs#CH_PIPE})
     * @param fullTimeout how long {@link #begin()} waits for the firmware to free a slot of a full ring
     */
    public TxChannel(String name, DmaPool pool, int count, Mmio regs, int channel, Duration fullTimeout) {
        if (count < 2 || count > ChannelLayout.MAX_COUNT) {
            throw new IllegalArgumentException(name + " channel size " + count + " is not 2.."
                    + ChannelLayout.MAX_COUNT);
        }
        this.name = name;
        this.count = count;
        this.regs = regs;
        this.doorbell = Regs.doorbell(channel);
        this.fullTimeout = fullTimeout;
        this.memory = new RingMemory(pool, ChannelLayout.STATE.byteSize(), count * ChannelLayout.MSG_SIZE);
        this.stateView = memory.control().segment();
        this.ringView = memory.entries().segment();
        this.lock = new Mutex<>(new Message(this), LockClass.named("agx.channel.tx"));
    }

    /** Writes this channel's ring descriptor at {@code offset} of the init data. */
    public void describe(MemorySegment initData, long offset) {
        RxChannel.describe(memory, count, initData, offset);
    }

    /** {@return the number of message slots} */
    public int count() {
        return count;
    }

    /** {@return the CPU view of the ring (for tests that check the bytes the firmware reads)} */
    public MemorySegment ringView() {
        return ringView;
    }

    /** {@return the firmware's read pointer, validated} */
    public int firmwareReadPointer() {
        // Acquire: the firmware release-stores rptr after it has finished reading the slots before it.
        int r = (int) Le.INT.getAcquire(stateView, ChannelLayout.RPTR);
        if (r < 0 || r >= count) {
            throw new ProtocolViolation(name + " channel: the firmware's read pointer is " + r + ", outside 0.."
                    + (count - 1));
        }
        return r;
    }

    /**
     * Reserves the next slot, waiting (bounded) while the ring is full, and returns the message being built with
     * the channel lock held. Close it (try-with-resources) to release the lock; only {@link Message#send()}
     * publishes it.
     *
     * @throws IllegalStateException if the firmware frees no slot within the full-ring timeout
     * @throws ProtocolViolation     if the firmware's read pointer is out of range, went back, or passed the write
     *                               pointer
     */
    public Message begin() {
        Guard<Message> g = lock.lock();
        try {
            Message m = g.get();
            m.guard = g;
            int next = (m.wptr + 1) % count;
            long deadline = System.nanoTime() + fullTimeout.toNanos();
            int spins = 0;
            while (next == consumedUpTo(m)) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(name + " channel is full (" + (count - 1)
                            + " messages outstanding) and the firmware did not consume any within " + fullTimeout);
                }
                if (++spins < 100) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(50_000);
                }
            }
            m.offset = (long) m.wptr * ChannelLayout.MSG_SIZE;
            ringView.asSlice(m.offset, ChannelLayout.MSG_SIZE).fill((byte) 0);
            return m;
        } catch (RuntimeException | Error e) {
            g.close();
            throw e;
        }
    }

    /**
     * Under the channel lock: the firmware's read pointer, checked to have moved only forward since the last call
     * and not past the messages published (anything else means the firmware claims messages nobody sent, and
     * trusting it would let the driver overwrite messages the firmware has not read).
     */
    private int consumedUpTo(Message m) {
        int r = firmwareReadPointer();
        if (Math.floorMod(r - m.lastRead, count) > Math.floorMod(m.wptr - m.lastRead, count)) {
            throw new ProtocolViolation(name + " channel: the firmware's read pointer moved from " + m.lastRead
                    + " to " + r + ", which is not between it and the write pointer " + m.wptr);
        }
        m.lastRead = r;
        return r;
    }

    /**
     * Waits until the firmware has consumed the message that {@link Message#send()} returned {@code cookie} for
     * (Asahi's {@code TxChannel::wait_for}).
     *
     * @return whether it was consumed within {@code timeout}
     */
    public boolean waitFor(int cookie, Duration timeout) {
        int mine = Math.floorMod(cookie - 1, count);
        long deadline = System.nanoTime() + timeout.toNanos();
        int spins = 0;
        while (true) {
            int r = firmwareReadPointer();
            // Opaque: our own last published value; ordering comes from the acquire read of rptr.
            int w = (int) Le.INT.getOpaque(stateView, ChannelLayout.WPTR);
            int outstanding = Math.floorMod(w - r, count);
            if (Math.floorMod(mine - r, count) >= outstanding) {
                return true;
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            if (++spins < 100) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    /** Frees the ring memory. The firmware must be stopped (it may otherwise still read it). */
    @Override
    public void close() {
        memory.close();
    }

    @Override
    public String toString() {
        return "TxChannel[" + name + ", " + count + " slots]";
    }

    /**
     * The message being built in the reserved slot. One per channel, reused (the channel lock makes that safe).
     * Invariant: valid only between {@link #begin()} and {@link #close()}, on the thread that called
     * {@code begin()}.
     */
    public static final class Message implements AutoCloseable {
        private final TxChannel channel;
        private Guard<Message> guard;
        private int wptr;
        /** The firmware's read pointer as last seen by {@code begin()}. */
        private int lastRead;
        private long offset;
        private int doorbellCount;

        private Message(TxChannel channel) {
            this.channel = channel;
        }

        /** {@return the ring's CPU view} */
        public MemorySegment ring() {
            check();
            return channel.ringView;
        }

        /** {@return the byte offset of the reserved slot in {@link #ring()}} */
        public long offset() {
            check();
            return offset;
        }

        /**
         * Publishes the message: release-stores the new write pointer, then rings the doorbell.
         *
         * @return a cookie for {@link TxChannel#waitFor}
         */
        public int send() {
            check();
            wptr = (wptr + 1) % channel.count;
            // Release: the message body written above is visible before the firmware can see the new wptr.
            Le.INT.setRelease(channel.stateView, ChannelLayout.WPTR, wptr);
            // The doorbell carries a changing count so the firmware notices every ring (a release write).
            channel.regs.write32(channel.doorbell, ++doorbellCount);
            return wptr;
        }

        private void check() {
            if (guard == null || !guard.isHeld()) {
                throw new IllegalStateException("channel message used outside begin()/close() on its thread");
            }
        }

        /** Releases the channel lock. An unsent message is not published. */
        @Override
        public void close() {
            Guard<Message> g = guard;
            check();
            guard = null;
            g.close();
        }
    }
}
