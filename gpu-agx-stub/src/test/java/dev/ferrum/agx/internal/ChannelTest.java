package dev.ferrum.agx.internal;

import dev.ferrum.agx.internal.fw.ChannelLayout;
import dev.ferrum.agx.internal.fw.Le;
import dev.ferrum.agx.internal.fw.Regs;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared-memory rings, with the test playing the firmware through the device's view of the memory. */
class ChannelTest {

    /** {@return the state and ring device addresses from the channel's descriptor} */
    private static long[] describe(TxChannel tx) {
        MemorySegment desc = MemorySegment.ofArray(new long[3]);
        tx.describe(desc, 0);
        return new long[] {(long) Le.LONG.get(desc, ChannelLayout.DESC_STATE),
                (long) Le.LONG.get(desc, ChannelLayout.DESC_RING)};
    }

    private static int send(TxChannel tx, int type) {
        // @start region="send"
        try (TxChannel.Message m = tx.begin()) {   // holds the channel lock, a free slot reserved
            Le.INT.set(m.ring(), m.offset(), type);  // the body: plain stores into the slot
            return m.send();                         // release-publishes wptr, rings the doorbell
        }
        // @end
    }

    @Test
    void aTransmitRingKeepsOneSlotFreeAndReusesSlotsTheFirmwareReleased() {
        try (MockMemory mem = new MockMemory();
             TxChannel tx = new TxChannel("test", mem.pool, 4, mem.regs, Regs.CH_PIPE, Duration.ofMillis(50))) {
            long[] a = describe(tx);
            long state = a[0];
            long ring = a[1];
            for (int i = 1; i <= 3; i++) {
                assertEquals(i, send(tx, 0x100 + i));
            }
            assertEquals(3, mem.u32(state + ChannelLayout.WPTR));
            assertEquals(3, mem.regs.read32(Regs.doorbell(Regs.CH_PIPE)), "one doorbell per message");
            for (int i = 0; i < 3; i++) {
                assertEquals(0x101 + i, mem.u32(ring + 64L * i), "message " + i + " at byte " + 64 * i);
            }
            IllegalStateException full = assertThrows(IllegalStateException.class, tx::begin);
            assertTrue(full.getMessage().contains("full (3 messages outstanding)"), full.getMessage());
            assertEquals(3, mem.u32(state + ChannelLayout.WPTR), "nothing published");

            assertFalse(tx.waitFor(1, Duration.ofMillis(20)), "message 1 not consumed yet");
            mem.setU32(state + ChannelLayout.RPTR, 1); // the firmware consumed message 0
            assertTrue(tx.waitFor(1, Duration.ofMillis(20)));
            assertFalse(tx.waitFor(2, Duration.ofMillis(20)));
            assertEquals(0, send(tx, 0x104), "the write pointer wraps");
            assertEquals(0x104, mem.u32(ring + 64L * 3));
            mem.setU32(state + ChannelLayout.RPTR, 0);
            assertTrue(tx.waitFor(0, Duration.ofMillis(20)), "everything consumed");
        }
    }

    @Test
    void aReadPointerPastTheWritePointerOrGoingBackIsAProtocolViolation() {
        try (MockMemory mem = new MockMemory();
             TxChannel tx = new TxChannel("test", mem.pool, 4, mem.regs, Regs.CH_PIPE, Duration.ofMillis(50))) {
            long state = describe(tx)[0];
            send(tx, 1);
            mem.setU32(state + ChannelLayout.RPTR, 2); // in range, but only message 0 was ever sent
            ProtocolViolation past = assertThrows(ProtocolViolation.class, tx::begin);
            assertTrue(past.getMessage().contains("moved from 0 to 2, which is not between it and the write pointer 1"),
                    past.getMessage());
            assertEquals(1, mem.u32(state + ChannelLayout.WPTR), "nothing published");
        }
        try (MockMemory mem = new MockMemory();
             TxChannel tx = new TxChannel("test", mem.pool, 4, mem.regs, Regs.CH_PIPE, Duration.ofMillis(50))) {
            long state = describe(tx)[0];
            send(tx, 1);
            send(tx, 2);
            mem.setU32(state + ChannelLayout.RPTR, 2); // both consumed
            send(tx, 3);
            mem.setU32(state + ChannelLayout.RPTR, 1); // and now un-consumed?
            ProtocolViolation back = assertThrows(ProtocolViolation.class, tx::begin);
            assertTrue(back.getMessage().contains("moved from 2 to 1"), back.getMessage());
        }
    }

    @Test
    void aReadPointerOutOfRangeIsAProtocolViolation() {
        try (MockMemory mem = new MockMemory();
             TxChannel tx = new TxChannel("test", mem.pool, 4, mem.regs, Regs.CH_PIPE, Duration.ofMillis(50))) {
            long state = describe(tx)[0];
            mem.setU32(state + ChannelLayout.RPTR, 4);
            ProtocolViolation e = assertThrows(ProtocolViolation.class, tx::begin);
            assertTrue(e.getMessage().contains("read pointer is 4, outside 0..3"), e.getMessage());
            assertEquals(0, mem.u32(state + ChannelLayout.WPTR));
        }
    }

    @Test
    void aReceiveRingDeliversMessagesInOrderAndValidatesTheWritePointer() {
        try (MockMemory mem = new MockMemory(); RxChannel rx = new RxChannel("test", mem.pool, 4)) {
            MemorySegment desc = MemorySegment.ofArray(new long[3]);
            rx.describe(desc, 0);
            long state = (long) Le.LONG.get(desc, ChannelLayout.DESC_STATE);
            long ring = (long) Le.LONG.get(desc, ChannelLayout.DESC_RING);
            assertEquals(4, (int) Le.INT.get(desc, ChannelLayout.DESC_COUNT));
            List<Integer> got = new ArrayList<>();
            RxChannel.Handler h = (r, off) -> got.add((int) Le.INT.get(r, off));
            assertEquals(0, rx.poll(h, 10));
            for (int i = 0; i < 3; i++) {
                mem.setU32(ring + 64L * i, 0x200 + i);
            }
            mem.setU32(state + ChannelLayout.WPTR, 3);
            assertEquals(2, rx.poll(h, 2), "at most max");
            assertEquals(1, rx.poll(h, 10));
            assertEquals(List.of(0x200, 0x201, 0x202), got);
            assertEquals(3, mem.u32(state + ChannelLayout.RPTR), "slots released to the firmware");

            mem.setU32(state + ChannelLayout.WPTR, 7);
            ProtocolViolation e = assertThrows(ProtocolViolation.class, () -> rx.poll(h, 10));
            assertTrue(e.getMessage().contains("write pointer is 7, outside 0..3"), e.getMessage());
            assertEquals(3, mem.u32(state + ChannelLayout.RPTR), "nothing consumed");
            assertEquals(3, got.size());
        }
    }
}
