package dev.ferrum.memory;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RevocableTest {

    @Test
    void accessWorksUntilRevokedThenIsEmpty() {
        AtomicInteger released = new AtomicInteger();
        Revocable<String> r = new Revocable<>("bar", "BAR0", v -> released.incrementAndGet());
        try (var a = r.tryAccess().orElseThrow()) {
            assertEquals("bar", a.get());
        }
        assertEquals(3, r.tryWith(String::length).orElseThrow());
        assertTrue(r.revoke());
        assertFalse(r.revoke(), "second revoke reports it was already revoked");
        assertTrue(r.tryAccess().isEmpty());
        assertTrue(r.tryWith(String::length).isEmpty());
        RevokedException e = assertThrows(RevokedException.class, r::access);
        assertTrue(e.getMessage().contains("BAR0"));
        assertEquals(1, released.get(), "release action ran exactly once");
    }

    @Test
    void revokeWaitsForAccessInProgress() throws Exception {
        AtomicInteger state = new AtomicInteger();
        Revocable<AtomicInteger> r = new Revocable<>(state, "counter", v -> v.set(-1));
        var access = r.tryAccess().orElseThrow();
        CountDownLatch revokeStarted = new CountDownLatch(1);
        CompletableFuture<Boolean> revoker = CompletableFuture.supplyAsync(() -> {
            revokeStarted.countDown();
            return r.revoke();
        });
        assertTrue(revokeStarted.await(10, TimeUnit.SECONDS));
        // The revoker is blocked: new accesses already fail, but ours is still valid.
        while (!r.isRevoked()) {
            Thread.onSpinWait();
        }
        assertTrue(r.tryAccess().isEmpty());
        assertFalse(revoker.isDone(), "revoke must not complete while an access is open");
        access.get().set(7);
        assertEquals(7, state.get(), "the accessor still works on the value");
        access.close();
        assertTrue(revoker.get(10, TimeUnit.SECONDS));
        assertEquals(-1, state.get(), "release ran after the access closed");
        assertThrows(IllegalStateException.class, access::close, "closing an access twice");
        assertThrows(IllegalStateException.class, access::get);
    }

    @Test
    void nullValueIsRejected() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> new Revocable<>(null, "x"));
        assertEquals("value", e.getMessage());
    }
}
