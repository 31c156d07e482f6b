package dev.ferrum.agx.internal;

import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.agx.internal.fw.Le;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommandHeapTest {

    @Test
    void objectsAreDistinctZeroedOnReuseAndTheHeapGrowsByChunks() {
        try (MockMemory mem = new MockMemory(); CommandHeap heap = new CommandHeap(mem.pool, 4)) {
            assertEquals(1, heap.chunks());
            List<CommandHeap.Cmd> cmds = new ArrayList<>();
            Set<Long> addresses = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                CommandHeap.Cmd c = heap.allocate();
                assertEquals(CommandLayout.SIZE, c.view().byteSize());
                assertTrue(addresses.add(c.deviceAddress()), "distinct objects");
                assertEquals(0, c.deviceAddress() % CommandLayout.SIZE);
                Le.INT.set(c.view(), CommandLayout.STATUS, 0x55);
                cmds.add(c);
            }
            assertEquals(2, heap.chunks(), "grew by one chunk");
            CommandHeap.Cmd first = cmds.getFirst();
            heap.free(first);
            assertThrows(IllegalStateException.class, () -> heap.free(first), "double free");
            CommandHeap.Cmd again = heap.allocate();
            assertEquals(first.deviceAddress(), again.deviceAddress(), "reused");
            assertEquals(0, (int) Le.INT.get(again.view(), CommandLayout.STATUS), "zeroed");
            assertEquals(0x55, mem.u32(cmds.get(1).deviceAddress() + CommandLayout.STATUS),
                    "the device sees what the CPU wrote at the object's address");
        }
    }
}
