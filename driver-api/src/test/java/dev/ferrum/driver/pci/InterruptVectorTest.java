package dev.ferrum.driver.pci;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared vectors: every registered handler runs on each delivery, and removing one leaves the others. */
class InterruptVectorTest {

    @Test
    void everyHandlerOfASharedVectorRunsOnEachDelivery() {
        InterruptVector v = new InterruptVector(1, "test vector");
        List<String> ran = new ArrayList<>();
        Runnable a = () -> ran.add("a");
        Runnable b = () -> ran.add("b");
        v.addHandler(a);
        v.addHandler(b);
        v.deliver(1);
        assertEquals(List.of("a", "b"), ran);
        assertEquals(2, v.handlerCount());
        assertEquals(1, v.pending());
    }

    @Test
    void removingOneHandlerKeepsTheOthers() {
        InterruptVector v = new InterruptVector(0, "test vector");
        AtomicInteger admin = new AtomicInteger();
        AtomicInteger queue = new AtomicInteger();
        Runnable adminHandler = admin::incrementAndGet;
        Runnable queueHandler = queue::incrementAndGet;
        v.addHandler(adminHandler);
        v.addHandler(queueHandler);
        assertTrue(v.removeHandler(queueHandler));
        assertFalse(v.removeHandler(queueHandler), "already removed");
        v.deliver(1);
        assertEquals(1, admin.get(), "the other user's handler survived");
        assertEquals(0, queue.get());
    }

    @Test
    void aThrowingHandlerDoesNotStopTheOthers() {
        InterruptVector v = new InterruptVector(0, "test vector");
        AtomicBoolean second = new AtomicBoolean();
        v.addHandler(() -> {
            throw new IllegalStateException("handler bug (expected in this test)");
        });
        v.addHandler(() -> second.set(true));
        v.deliver(1);
        assertTrue(second.get());
    }

    @Test
    void setHandlerReplacesAllAndNullRemovesAll() {
        InterruptVector v = new InterruptVector(0, "test vector");
        AtomicInteger old = new AtomicInteger();
        AtomicInteger replacement = new AtomicInteger();
        v.addHandler(old::incrementAndGet);
        v.addHandler(old::incrementAndGet);
        v.setHandler(replacement::incrementAndGet);
        v.deliver(1);
        assertEquals(0, old.get());
        assertEquals(1, replacement.get());
        v.setHandler(null);
        assertEquals(0, v.handlerCount());
        v.deliver(1);
        assertEquals(1, replacement.get());
        assertEquals(2, v.total());
    }

    @Test
    void aHandlerMayRemoveItselfDuringDelivery() {
        InterruptVector v = new InterruptVector(0, "test vector");
        AtomicInteger runs = new AtomicInteger();
        Runnable[] self = new Runnable[1];
        self[0] = () -> {
            runs.incrementAndGet();
            v.removeHandler(self[0]);
        };
        v.addHandler(self[0]);
        v.deliver(1);
        v.deliver(1);
        assertEquals(1, runs.get());
    }

    @Test
    void nullHandlerIsRefused() {
        InterruptVector v = new InterruptVector(0, "test vector");
        NullPointerException e = assertThrows(NullPointerException.class, () -> v.addHandler(null));
        assertTrue(e.getMessage().contains("interrupt handler"));
    }

    @Test
    void concurrentRegistrationLosesNoHandler() throws InterruptedException {
        InterruptVector v = new InterruptVector(0, "test vector");
        int threads = 4;
        int each = 200;
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            ts[t] = new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    v.addHandler(() -> { });
                }
            });
            ts[t].start();
        }
        for (int i = 0; i < 1000; i++) {
            v.deliver(1); // concurrent deliveries see complete arrays
        }
        for (Thread t : ts) {
            t.join();
        }
        assertEquals(threads * each, v.handlerCount());
    }
}
