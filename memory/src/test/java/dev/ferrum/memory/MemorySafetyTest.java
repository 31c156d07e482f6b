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

    /**
     * Raw: maps a fresh page over {@code address} in one step ({@code MAP_FIXED} replaces the old mapping atomically),
     * as if the memory had been freed and the allocator had handed the address to a new owner. Doing it as munmap
     * then mmap would leave a moment in which another JVM thread could map something there, which MAP_FIXED would
     * then destroy.
     */
    private static long freeAndReuse(long address, String newOwner) {
        long reused = Syscalls.mmap(address, PAGE, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS | Syscalls.MAP_FIXED, -1, 0, newOwner);
        assertEquals(address, reused);
        return reused;
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
        long reused = freeAndReuse(addr, "new owner");
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
        // Nor can a stale device address be handed to a device: the IOVA may already belong to another buffer.
        e = assertThrows(IllegalStateException.class, b::deviceAddress);
        assertTrue(e.getMessage().contains("use after free"), e.getMessage());
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
        // Raw: free a page, the address is reused, and the second free of the stale address "succeeds": it
        // silently unmaps the new owner's memory.
        long addr = Syscalls.mmap(PAGE, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0, "victim");
        long reused = freeAndReuse(addr, "new owner"); // the first free, and the reuse
        Syscalls.madvise(reused, PAGE, Syscalls.MADV_DONTFORK); // the new owner's page is mapped...
        Syscalls.munmap(addr, PAGE); // ...the double free reports no error...
        dev.ferrum.sys.SyscallException gone = assertThrows(dev.ferrum.sys.SyscallException.class,
                () -> Syscalls.madvise(reused, PAGE, Syscalls.MADV_DONTFORK));
        assertEquals(dev.ferrum.sys.Errno.ENOMEM, gone.errno(), "...and the new owner's page is no longer mapped");

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
        // Raw: NULL is address 0, and NULL plus an offset is just another address. Dereferencing NULL itself would
        // kill the JVM (SIGSEGV), so show the variant that does not: a field read through a NULL struct pointer with
        // a large field offset (the classic exploitable kernel NULL dereference) silently reads live memory.
        try (DmaBuffer victim = pool.allocate(PAGE)) {
            victim.segment().set(ValueLayout.JAVA_LONG, 0, 0x5ec2e7L);
            long nullPointer = 0;
            long fieldOffset = victim.segment().address(); // a corrupted, or attacker-chosen, offset
            assertEquals(0x5ec2e7L, raw(nullPointer).get(ValueLayout.JAVA_LONG, fieldOffset),
                    "no fault: the NULL-based read returned another buffer's data");
        }

        // Safe: Ferrum's entry points refuse null and NULL, naming what was missing.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Mmio.of(MemorySegment.NULL, "BAR0"));
        assertEquals("MMIO window 'BAR0' is empty (a NULL segment)", e.getMessage());
        NullPointerException npe = assertThrows(NullPointerException.class, () -> Mmio.of(null, "BAR0"));
        assertEquals("window", npe.getMessage());
        npe = assertThrows(NullPointerException.class, () -> DmaPool.builder(null));
        assertEquals("addressSpace", npe.getMessage());
        npe = assertThrows(NullPointerException.class,
                () -> DmaArray.allocate(pool, null, 4));
        assertEquals("element", npe.getMessage());
        try (DmaBuffer b = pool.allocate(PAGE)) {
            npe = assertThrows(NullPointerException.class, () -> b.register(null));
            assertEquals("owner", npe.getMessage());
            IllegalStateException ise = assertThrows(IllegalStateException.class, () -> b.unregister(null));
            assertTrue(ise.getMessage().endsWith("is not registered with null"), ise.getMessage());
        }
        assertEquals(0, pool.liveBuffers(), "the refused calls allocated nothing");
        Revocable<String> gone = new Revocable<>("value", "device");
        gone.revoke();
        assertTrue(gone.tryAccess().isEmpty(), "an absent value is an empty Optional, never null");
    }

    @Test
    @DisplayName("data race: a confined buffer touched from another thread throws WrongThreadException")
    void dataRace() throws Exception {
        DmaBuffer b = pool.allocateConfined(PAGE);
        MemorySegment mine = b.segment();

        // Raw: nothing stops another thread. The owner does a read-modify-write; between its read and its write
        // another thread writes through a raw pointer to the same memory: that write lands (no error) and is then
        // silently lost (the classic lost update). The interleaving is forced, so the outcome is certain.
        mine.set(ValueLayout.JAVA_INT, 0, 10);
        int seen = mine.get(ValueLayout.JAVA_INT, 0);                     // owner: read
        long address = mine.address();
        CompletableFuture.runAsync(() -> raw(address).set(ValueLayout.JAVA_INT, 0, 99)).get(); // other thread
        assertEquals(99, mine.get(ValueLayout.JAVA_INT, 0), "the other thread wrote into the confined buffer");
        mine.set(ValueLayout.JAVA_INT, 0, seen + 1);                      // owner: write back
        assertEquals(11, mine.get(ValueLayout.JAVA_INT, 0), "and its update was lost without a trace");

        // Safe: the confined buffer's own segment refuses the other thread.
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
