package dev.ferrum.memory;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * The leak check of ferrum-test-support, which every test here runs under, can fail: fixture tests that leak a DMA
 * buffer, or leave one from {@code @BeforeAll} behind, are run through the JUnit engine and must fail, naming it.
 */
class LeakCheckTest {
    /** The fixtures' pool: one per test here, closed after it, which frees what the fixture leaked. */
    private static DmaPool pool;

    @BeforeEach
    void newPool() {
        pool = DmaPool.builder(DeviceAddressSpace.identity()).name("leak-fixture")
                .memoryLock(DmaPool.MemoryLock.BEST_EFFORT).build();
    }

    @AfterEach
    void freeWhatTheFixtureLeaked() {
        pool.close();
    }

    /** Run only through the engine below (not a *Test class, so surefire does not pick it up). */
    static final class LeakingFixture {
        @Test
        void leaksABuffer() {
            pool.allocate(4096);
        }

        @Test
        void cleansUp() {
            pool.allocate(4096).close();
        }
    }

    /** Leaks from {@code @BeforeAll}: the class, not a method, is reported. */
    static final class ClassLevelFixture {
        static DmaBuffer kept;

        @BeforeAll
        static void allocate() {
            kept = pool.allocate(8192);
        }

        @Test
        void usesIt() {
            kept.segment().fill((byte) 1);
        }

        @AfterAll
        static void forgetsToClose() {
        }
    }

    private static EngineExecutionResults run(Class<?> fixture) {
        return EngineTestKit.engine("junit-jupiter")
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
                .selectors(selectClass(fixture)).execute();
    }

    @Test
    void aTestLeavingABufferFailsAndNamesIt() {
        EngineExecutionResults r = run(LeakingFixture.class);
        assertEquals(1, r.testEvents().succeeded().count(), "the clean test passes");
        List<Event> failed = r.testEvents().failed().list();
        assertEquals(1, failed.size());
        String message = failed.getFirst().getPayload(org.junit.platform.engine.TestExecutionResult.class)
                .orElseThrow().getThrowable().orElseThrow().getMessage();
        assertTrue(message.contains("test leaksABuffer() leaked 1 Ferrum resource(s)"), message);
        assertTrue(message.contains("DMA buffer: DmaBuffer[4096 bytes"), message);
        assertTrue(message.contains("pool 'leak-fixture'"), message);
        assertEquals(0, r.containerEvents().failed().count(), "reported once, by the test, not again by its class");
    }

    @Test
    void aClassLeavingABufferFromBeforeAllFails() {
        EngineExecutionResults r = run(ClassLevelFixture.class);
        assertEquals(1, r.testEvents().succeeded().count());
        List<Event> failed = r.containerEvents().failed().list();
        assertEquals(1, failed.size());
        String message = failed.getFirst().getPayload(org.junit.platform.engine.TestExecutionResult.class)
                .orElseThrow().getThrowable().orElseThrow().getMessage();
        assertTrue(message.contains("(@BeforeAll/@AfterAll) leaked 1 Ferrum resource(s)"), message);
        assertTrue(message.contains("DmaBuffer[8192 bytes"), message);
    }
}
