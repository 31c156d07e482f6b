package dev.ferrum.example.javadoc;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.sync.Arc;
import dev.ferrum.driver.sync.CondVar;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.Mutex;
import dev.ferrum.driver.sync.Refcount;
import dev.ferrum.driver.sync.SpinLock;
import dev.ferrum.example.checksum.model.ChecksumAccelerator;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The examples of the {@code dev.ferrum.driver.sync} Javadoc, compiled and run. */
class SyncExamplesTest {

    /** State a lock protects: reachable only through the lock's guard. */
    static final class QueueState {
        int tail;
    }

    @Test
    void aSpinLockOwnsItsData() {
        // @start region="spinlock"
        SpinLock<QueueState> state = new SpinLock<>(new QueueState(), LockClass.named("example.sq"));
        try (Guard<QueueState> g = state.lock()) {             // the only way to the QueueState
            g.get().tail = (g.get().tail + 1) % 64;
        }                                                      // released; the guard is dead until the next lock()
        int tail = state.with(s -> s.tail);                    // or lock, apply, unlock
        // @end
        assertEquals(1, tail);
        Guard<QueueState> stale = state.lock();
        stale.close();
        assertThrows(IllegalStateException.class, stale::get, "a closed guard reaches nothing");
    }

    @Test
    void aCondVarWaitsWithTheGuardAsProof() throws Exception {
        // @start region="condvar"
        Mutex<Deque<Integer>> queue = new Mutex<>(new ArrayDeque<>(), LockClass.named("example.queue"));
        CondVar notEmpty = new CondVar();
        CompletableFuture<Integer> consumer = CompletableFuture.supplyAsync(() -> {
            try (Guard<Deque<Integer>> g = queue.lock()) {
                while (g.get().isEmpty()) {
                    notEmpty.awaitUninterruptibly(g);          // releases the lock while parked
                }
                return g.get().removeFirst();
            }
        });
        queue.run(q -> q.addLast(42));                         // change the condition under the lock,
        notEmpty.notifyAllWaiters();                           // then notify
        // @end
        assertEquals(42, consumer.get(10, TimeUnit.SECONDS));
    }

    @Test
    void anArcReleasesItsResourceOnTheLastClose() {
        try (PciBus bus = PciBus.open(new MockPciBus().add("0000:01:00.0", new ChecksumAccelerator()))) {
            DmaPool pool = bus.device(PciAddress.parse("0000:01:00.0")).orElseThrow().dmaPool();
            // @start region="arc"
            Arc<DmaBuffer> buffer = Arc.of(pool.allocate(4096));
            Arc<DmaBuffer> forCommand = buffer.clone();        // the in-flight command holds its own reference
            buffer.close();                                    // the submitter is done with it ...
            assertTrue(forCommand.get().isAlive());            // ... but the command is not
            DmaBuffer raw = forCommand.get();
            forCommand.close();                                // the last close frees the buffer, once
            assertFalse(raw.isAlive());
            // @end
            assertThrows(IllegalStateException.class, forCommand::get, "a closed handle reaches nothing");
        }
    }

    @Test
    void aRefcountSaturatesInsteadOfWrapping() {
        // @start region="refcount"
        Refcount users = new Refcount(1);
        users.inc();                                           // 2
        assertFalse(users.decAndTest());                       // 1
        assertTrue(users.decAndTest());                        // 0: the last user releases the object
        assertFalse(users.incNotZero());                       // no resurrection of a released object
        users.dec();                                           // an underflow: reported and saturated, not -1
        assertTrue(users.isSaturated());
        // @end
    }
}
