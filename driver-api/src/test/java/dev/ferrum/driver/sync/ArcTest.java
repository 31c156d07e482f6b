package dev.ferrum.driver.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferrum.driver.testing.TestThread;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ArcTest {

    /** A resource that counts its closes. */
    static final class Resource implements AutoCloseable {
        final AtomicInteger closes = new AtomicInteger();

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    @Test
    void theLastCloseReleasesExactlyOnce() {
        Resource res = new Resource();
        Arc<Resource> a = Arc.of(res);
        Arc<Resource> b = a.clone();
        Arc<Resource> c = b.clone();
        assertEquals(3, a.referenceCount());
        assertSame(res, c.get());
        a.close();
        b.close();
        assertEquals(0, res.closes.get(), "still referenced by c");
        assertSame(res, c.get());
        c.close();
        assertEquals(1, res.closes.get());
    }

    @Test
    void aClosedHandleRefusesUseButOthersAreUnaffected() {
        AtomicInteger released = new AtomicInteger();
        Arc<String> a = Arc.of("payload", s -> released.incrementAndGet());
        Arc<String> b = a.clone();
        a.close();
        assertTrue(a.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, a::get);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, a::clone);
        IllegalStateException twice = assertThrows(IllegalStateException.class, a::close);
        assertTrue(twice.getMessage().contains("closed twice"), twice.getMessage());
        assertEquals(1, b.referenceCount(), "a second close must not drop another handle's reference");
        assertEquals("payload", b.get());
        assertEquals(0, released.get());
        b.close();
        assertEquals(1, released.get());
    }

    @Test
    void nullsAreRejected() {
        assertThrows(NullPointerException.class, () -> Arc.of((AutoCloseable) null));
        assertThrows(NullPointerException.class, () -> Arc.of("x", null));
        assertThrows(NullPointerException.class, () -> UniqueArc.of(null, s -> { }));
    }

    @Test
    void aFailingReleasePropagatesOnceAndIsNotRetried() {
        AtomicInteger attempts = new AtomicInteger();
        Arc<String> a = Arc.of("x", s -> {
            attempts.incrementAndGet();
            throw new IllegalArgumentException("release failed");
        });
        Arc<String> b = a.clone();
        a.close();
        assertThrows(IllegalArgumentException.class, b::close);
        assertEquals(1, attempts.get());
        assertThrows(IllegalStateException.class, b::close);
        assertEquals(1, attempts.get());
    }

    @Test
    void checkedExceptionsFromCloseAreWrapped() {
        Arc<AutoCloseable> io = Arc.of(() -> {
            throw new IOException("disk");
        });
        UncheckedIOException e = assertThrows(UncheckedIOException.class, io::close);
        assertEquals("disk", e.getCause().getMessage());
        Arc<AutoCloseable> other = Arc.of(() -> {
            throw new Exception("other");
        });
        IllegalStateException e2 = assertThrows(IllegalStateException.class, other::close);
        assertInstanceOf(Exception.class, e2.getCause());
    }

    @Test
    void racingClosesAcrossThreadsReleaseExactlyOnce() throws Exception {
        int threads = 4;
        for (int round = 0; round < 200; round++) {
            Resource res = new Resource();
            Arc<Resource> first = Arc.of(res);
            List<Arc<Resource>> handles = new ArrayList<>();
            handles.add(first);
            for (int i = 1; i < threads; i++) {
                handles.add(first.clone());
            }
            CyclicBarrier start = new CyclicBarrier(threads);
            List<TestThread> ts = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Arc<Resource> mine = handles.get(i);
                ts.add(TestThread.start("closer-" + round + "-" + i, () -> {
                    Arc<Resource> extra = mine.clone(); // clone and close concurrently with the others
                    start.await();
                    extra.close();
                    mine.close();
                }));
            }
            ts.forEach(TestThread::join);
            assertEquals(1, res.closes.get(), "round " + round);
        }
    }

    @Test
    void twoThreadsClosingTheSameHandleAreDetected() throws Exception {
        for (int round = 0; round < 100; round++) {
            Resource res = new Resource();
            Arc<Resource> keep = Arc.of(res);
            Arc<Resource> shared = keep.clone();
            CyclicBarrier start = new CyclicBarrier(2);
            AtomicInteger refused = new AtomicInteger();
            List<TestThread> ts = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                ts.add(TestThread.start("double-" + i, () -> {
                    start.await();
                    try {
                        shared.close();
                    } catch (IllegalStateException e) {
                        refused.incrementAndGet();
                    }
                }));
            }
            ts.forEach(TestThread::join);
            assertEquals(1, refused.get());
            assertEquals(1, keep.referenceCount(), "only one reference was dropped");
            keep.close();
            assertEquals(1, res.closes.get());
        }
    }

    @Test
    void aUniqueArcIsSharedOnceOrReleasedAtOnce() {
        Resource res = new Resource();
        UniqueArc<Resource> u = UniqueArc.of(res);
        assertSame(res, u.get());
        Arc<Resource> a = u.share();
        assertThrows(IllegalStateException.class, u::get);
        assertThrows(IllegalStateException.class, u::share);
        assertThrows(IllegalStateException.class, u::close);
        assertEquals(1, a.referenceCount());
        Arc<Resource> b = a.clone();
        a.close();
        b.close();
        assertEquals(1, res.closes.get());

        AtomicInteger released = new AtomicInteger();
        UniqueArc<String> unshared = UniqueArc.of("setup", s -> released.incrementAndGet());
        unshared.close();
        assertEquals(1, released.get());
        assertThrows(IllegalStateException.class, unshared::share);
        assertFalse(unshared.toString().isEmpty());
    }
}
