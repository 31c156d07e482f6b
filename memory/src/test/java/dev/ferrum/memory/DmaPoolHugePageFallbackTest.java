package dev.ferrum.memory;

import dev.ferrum.memory.internal.PageMemory;
import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The huge-page fallbacks of {@link DmaPool}, made deterministic with a page source that has a fixed budget of
 * "huge pages" (ordinary pages standing in for them) and then fails as {@code mmap(MAP_HUGETLB)} does, with ENOMEM.
 * The log lines are read from slf4j-simple's output, which goes to {@link System#err}.
 */
class DmaPoolHugePageFallbackTest {
    private static final long HUGE = PageMemory.HUGE_PAGE_SIZE;

    /** Hands out {@code budget} huge-page allocations, then fails them; 4 KiB allocations always work. */
    private static final class LimitedHugePages implements DmaPool.PageSource {
        private int budget;
        private final String unavailableReason;
        final List<String> calls = new ArrayList<>();

        LimitedHugePages(int budget, String unavailableReason) {
            this.budget = budget;
            this.unavailableReason = unavailableReason;
        }

        @Override
        public String hugePagesUnavailableReason() {
            return unavailableReason;
        }

        @Override
        public PageMemory.Mapped map(long size, boolean huge, PageMemory.Lock lock, Arena arena) {
            calls.add((huge ? "huge " : "small ") + size);
            if (huge && budget-- <= 0) {
                throw new SyscallException("mmap(anonymous, MAP_HUGETLB, " + size + " bytes)", Errno.ENOMEM);
            }
            return PageMemory.map(size, false, lock, arena);
        }
    }

    private static DmaPool pool(String name, DmaPool.HugePages policy, LimitedHugePages pages) {
        return DmaPool.builder(new RecordingAddressSpace()).name(name).hugePages(policy)
                .memoryLock(DmaPool.MemoryLock.BEST_EFFORT).pageSource(pages).build();
    }

    /** Runs {@code action} and returns what it logged (slf4j-simple writes to the current System.err). */
    private static <T> T capturingLog(StringBuilder log, Supplier<T> action) {
        PrintStream saved = System.err;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            return action.get();
        } finally {
            System.setErr(saved);
            log.append(bytes.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void preferFallsBackToSmallPagesWhenHugePagesRunOutMidRunAndSaysSoOnce() {
        LimitedHugePages pages = new LimitedHugePages(1, null);
        try (DmaPool pool = pool("fallback", DmaPool.HugePages.PREFER, pages)) {
            assertTrue(pool.usesHugePages(), "the probe found huge pages");
            DmaBuffer huge = pool.allocate(100);
            assertEquals(HUGE, huge.byteSize());
            assertEquals(HUGE, huge.pageSize());

            StringBuilder log = new StringBuilder();
            DmaBuffer small = capturingLog(log, () -> pool.allocate(100));
            assertEquals(4096, small.byteSize(), "rounded to the 4 KiB page it got instead");
            assertEquals(4096, small.pageSize());
            assertEquals(List.of("huge " + HUGE, "huge " + HUGE, "small 4096"), pages.calls);
            assertTrue(log.toString().contains("WARN dev.ferrum.memory.DmaPool - DMA pool 'fallback': out of huge"
                    + " pages (mmap(anonymous, MAP_HUGETLB, 2097152 bytes) failed: ENOMEM"), log.toString());
            assertTrue(log.toString().contains("falling back to 4 KiB pages"), log.toString());

            StringBuilder again = new StringBuilder();
            DmaBuffer third = capturingLog(again, () -> pool.allocate(8192));
            assertEquals(8192, third.byteSize());
            assertFalse(again.toString().contains("out of huge pages"), "warned once per pool: " + again);
            assertEquals(3, pool.liveBuffers());
        }
    }

    @Test
    void requireFailsInsteadOfFallingBack() {
        LimitedHugePages pages = new LimitedHugePages(1, null);
        try (DmaPool pool = pool("required", DmaPool.HugePages.REQUIRE, pages)) {
            pool.allocate(1);
            SyscallException e = assertThrows(SyscallException.class, () -> pool.allocate(1));
            assertEquals(Errno.ENOMEM, e.errno());
            assertEquals(1, pool.liveBuffers(), "the failed allocation left nothing behind");
            assertEquals(List.of("huge " + HUGE, "huge " + HUGE), pages.calls, "no 4 KiB attempt");
        }
    }

    @Test
    void preferWithoutHugePagesAtStartUsesSmallPagesAndSaysWhy() {
        LimitedHugePages pages = new LimitedHugePages(0, "no huge pages reserved (test)");
        StringBuilder log = new StringBuilder();
        try (DmaPool pool = capturingLog(log, () -> pool("small", DmaPool.HugePages.PREFER, pages))) {
            assertFalse(pool.usesHugePages());
            assertEquals(4096, pool.pageSize());
            try (DmaBuffer b = pool.allocate(1)) {
                assertEquals(4096, b.byteSize());
            }
            assertEquals(List.of("small 4096"), pages.calls, "never asks for a huge page again");
        }
        assertTrue(log.toString().contains("INFO dev.ferrum.memory.DmaPool - DMA pool 'small': huge pages"
                + " unavailable, using 4 KiB pages: no huge pages reserved (test)"), log.toString());
    }
}
