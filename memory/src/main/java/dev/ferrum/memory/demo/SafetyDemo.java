package dev.ferrum.memory.demo;

import dev.ferrum.memory.DeviceAddressSpace;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;
import dev.ferrum.memory.Register32;
import dev.ferrum.memory.Revocable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The memory-safety demo: each bug class of C driver code, attempted through Ferrum's safe API, and the exception
 * that stops it. Runs anywhere (no device needed): {@code ./ferrum safety-demo}.
 *
 * <p>Invariants: not instantiable; every attempt uses only the safe API, and every resource it allocates is freed
 * before {@link #main} returns.
 */
public final class SafetyDemo {
    private SafetyDemo() {}

    public static void main(String[] args) {
        System.out.println("Ferrum memory-safety demo: each line is a bug a C driver could make silently.");
        System.out.println();
        try (DmaPool pool = DmaPool.builder(DeviceAddressSpace.identity()).name("demo")
                .memoryLock(DmaPool.MemoryLock.BEST_EFFORT).build()) {
            attempt("use after free   (write to a freed DMA buffer)", () -> {
                DmaBuffer b = pool.allocate(4096);
                MemorySegment view = b.segment();
                b.close();
                view.set(ValueLayout.JAVA_INT, 0, 1);
            });
            attempt("buffer overflow  (write one past the end of a 4 KiB buffer)", () -> {
                try (DmaBuffer b = pool.allocate(4096)) {
                    b.segment().set(ValueLayout.JAVA_INT, 4096, 1);
                }
            });
            attempt("register overrun (32-bit read at 0x1000 of a 4 KiB BAR)", () -> {
                try (Arena a = Arena.ofConfined()) {
                    Mmio bar = Mmio.of(a.allocate(4096, 8), "BAR0");
                    Register32.at(0x1000, "DOORBELL").read(bar);
                }
            });
            attempt("double free      (close a DMA buffer twice)", () -> {
                DmaBuffer b = pool.allocate(4096);
                b.close();
                b.close();
            });
            attempt("free while DMA   (close a buffer an in-flight command uses)", () -> {
                DmaBuffer b = pool.allocate(4096);
                b.pin();
                try {
                    b.close();
                } finally {
                    b.unpin();
                    b.close();
                }
            });
            attempt("null dereference (map a register window at NULL)", () -> Mmio.of(MemorySegment.NULL, "BAR0"));
            attempt("data race        (touch another thread's confined buffer)", () -> {
                DmaBuffer b = pool.allocateConfined(4096);
                try {
                    CompletableFuture.runAsync(() -> b.segment().set(ValueLayout.JAVA_INT, 0, 1)).join();
                } finally {
                    b.close();
                }
            });
            attempt("device gone      (read a BAR after surprise removal)", () -> {
                Arena bar = Arena.ofShared();
                Mmio io = Mmio.of(bar.allocate(4096, 8), "BAR0 of 0000:01:00.0");
                Revocable<Mmio> devres = new Revocable<>(io, "BAR0", m -> bar.close());
                devres.revoke();
                io.read32(0L);
            });
        }
        System.out.println();
        System.out.println("Every attempt was refused before it touched memory it does not own.");
    }

    private static void attempt(String what, Runnable bug) {
        try {
            bug.run();
            System.out.printf("  %-62s NOT CAUGHT%n", what);
            System.exit(1);
        } catch (RuntimeException e) {
            Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            System.out.printf("  %-62s -> %s: %s%n", what, t.getClass().getSimpleName(), t.getMessage());
        }
    }
}
