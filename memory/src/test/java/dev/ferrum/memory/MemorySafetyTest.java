package dev.ferrum.memory;

import dev.ferrum.sys.Syscalls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One test per memory-safety bug class of the mission: each shows the safe API refusing, with a specific
 * documented exception, what raw address arithmetic does silently. The raw half of each test uses an
 * "everything" segment or raw syscalls on purpose, to show the corruption the safe API prevents.
 */
class MemorySafetyTest {
    private static final long PAGE = 4096;
    private final DmaPool pool = DmaPool.builder(new RecordingAddressSpace()).name("safety").build();

    @AfterEach
    void close() {
        pool.close();
    }

    /** Raw view of all memory from {@code address}: no bounds, no lifetime. */
    private static MemorySegment raw(long address) {
        // SAFETY (deliberately unsafe, test only): the caller keeps every access inside memory it has mapped.
        return MemorySegment.ofAddress(address).reinterpret(Long.MAX_VALUE);
    }

    @Test
    @DisplayName("use after free: access to a closed buffer throws IllegalStateException")
    void useAfterFree() {
        // Raw: free a page, let something else reuse the address, write through the stale pointer.
        long addr = Syscalls.mmap(PAGE, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0, "victim");
        Syscalls.munmap(addr, PAGE);
        long reused = Syscalls.mmap(addr, PAGE, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS | Syscalls.MAP_FIXED, -1, 0, "new owner");
        assertEquals(addr, reused);
        raw(addr).set(ValueLayout.JAVA_LONG, 0, 0xbad);          // stale pointer, no error...
        assertEquals(0xbad, raw(reused).get(ValueLayout.JAVA_LONG, 0), "...and the new owner's data is corrupted");
        Syscalls.munmap(reused, PAGE);

        // Safe: the buffer's segment dies with it.
        DmaBuffer b = pool.allocate(PAGE);
        MemorySegment view = b.segment();
        b.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> view.set(ValueLayout.JAVA_LONG, 0, 0xbad));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, b::segment);
    }

    @Test
    @DisplayName("buffer overflow: out-of-bounds buffer or register access throws IndexOutOfBoundsException")
    void bufferOverflow() {
        try (DmaBuffer two = pool.allocate(2 * PAGE)) {
            DmaBuffer first = two.slice(0, PAGE);
            DmaBuffer second = two.slice(PAGE, PAGE);
            // Raw: writing one long past the end of `first` lands in `second`.
            raw(first.segment().address()).set(ValueLayout.JAVA_LONG, PAGE, 0xbadL);
            assertEquals(0xbadL, second.segment().get(ValueLayout.JAVA_LONG, 0), "neighbour silently overwritten");
            second.segment().set(ValueLayout.JAVA_LONG, 0, 0);

            // Safe: the slice's bounds hold.
            assertThrows(IndexOutOfBoundsException.class, () -> first.segment().set(ValueLayout.JAVA_LONG, PAGE, 0xbadL));
            assertEquals(0L, second.segment().get(ValueLayout.JAVA_LONG, 0));
            // And registers: a window of 0x1000 bytes refuses offset 0x1000.
            Mmio bar = Mmio.of(first.segment(), "BAR0");
            assertThrows(IndexOutOfBoundsException.class, () -> bar.write32(PAGE, 1));
            assertEquals(0L, second.segment().get(ValueLayout.JAVA_LONG, 0));
        }
    }

    @Test
    @DisplayName("double free: a second close throws IllegalStateException and frees nothing else")
    void doubleFree() {
        // Raw: munmap of an already unmapped range "succeeds" - and if the range was reused meanwhile, the second
        // munmap silently unmaps the new owner's memory.
        long addr = Syscalls.mmap(PAGE, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0, "victim");
        Syscalls.munmap(addr, PAGE);
        Syscalls.munmap(addr, PAGE); // no error reported

        // Safe:
        DmaBuffer b = pool.allocate(PAGE);
        b.close();
        DmaBuffer other = pool.allocate(PAGE);
        IllegalStateException e = assertThrows(IllegalStateException.class, b::close);
        assertTrue(e.getMessage().startsWith("double free"), e.getMessage());
        other.segment().set(ValueLayout.JAVA_LONG, 0, 1L);
        assertEquals(1L, other.segment().get(ValueLayout.JAVA_LONG, 0), "the other buffer is untouched");
        other.close();
    }

    @Test
    @DisplayName("null dereference: NULL segments and absent values are rejected with a clear error")
    void nullDereference() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Mmio.of(MemorySegment.NULL, "BAR0"));
        assertTrue(e.getMessage().contains("NULL segment"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> MemorySegment.NULL.get(ValueLayout.JAVA_INT, 0),
                "even the raw NULL segment has size 0 in FFM: it never reaches address 0");
        Revocable<String> gone = new Revocable<>("value", "device");
        gone.revoke();
        assertTrue(gone.tryAccess().isEmpty(), "an absent value is an empty Optional, never null");
        assertThrows(NullPointerException.class, () -> DmaPool.builder(null));
    }

    @Test
    @DisplayName("data race: a confined buffer touched from another thread throws WrongThreadException")
    void dataRace() throws Exception {
        DmaBuffer b = pool.allocateConfined(PAGE);
        MemorySegment mine = b.segment();
        mine.set(ValueLayout.JAVA_INT, 0, 1);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> CompletableFuture.runAsync(() -> mine.set(ValueLayout.JAVA_INT, 0, 2)).get());
        assertInstanceOf(WrongThreadException.class, e.getCause());
        assertEquals(1, mine.get(ValueLayout.JAVA_INT, 0), "the other thread's write never happened");
        b.close();
    }

    @Test
    @DisplayName("revoked device memory: a register window whose arena closed throws RevokedException")
    void revokedWindow() {
        Arena bar = Arena.ofShared();
        Mmio io = Mmio.of(bar.allocate(PAGE, 8), "BAR0");
        bar.close();
        assertThrows(RevokedException.class, () -> io.read32(0L));
    }
}
