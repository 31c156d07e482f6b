package dev.ferrum.driver.mock;

import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.workqueue.Work;
import dev.ferrum.driver.workqueue.Workqueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;

import java.lang.foreign.Arena;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * The leak check of ferrum-test-support fails a test for each kind of resource it claims to watch besides DMA
 * buffers (memory's LeakCheckTest shows those): an IOVA mapping left in a mock IOMMU, an arena owned by a Ferrum
 * object (a device model's BAR memory) left open, and a running worker thread of a workqueue never destroyed.
 * Each fixture class has a leaking test and one that cleans up; they run through the JUnit engine with extension
 * auto-detection on, as under surefire.
 */
class LeakCheckFixturesTest {
    /** What the fixtures leaked, released after each test here so that this class itself leaks nothing. */
    private static MockPciBus bus;
    private static Arena hostMemory;
    private static long iova;
    private static DeviceModel model;
    private static Workqueue queue;
    private static final PciAddress ADDRESS = PciAddress.parse("0000:00:06.0");

    @AfterEach
    void releaseWhatTheFixtureLeaked() {
        if (iova != 0) {
            bus.iommu(ADDRESS).unmap(iova, 4096);
            iova = 0;
        }
        if (bus != null) {
            bus.close();
            bus = null;
        }
        if (hostMemory != null) {
            hostMemory.close();
            hostMemory = null;
        }
        if (model != null) {
            new MockPciBus().add("0000:00:07.0", model).close(); // the bus frees the memory of the models it holds
            model = null;
        }
        if (queue != null) {
            queue.destroy();
            queue = null;
        }
    }

    /** Maps a page into the IOMMU of the device the outer test set up; run only through the engine below. */
    static final class IovaFixture {
        @Test
        void leavesAMapping() {
            iova = bus.iommu(ADDRESS).map(hostMemory.allocate(4096, 4096));
        }

        @Test
        void unmapsIt() {
            MockIommu iommu = bus.iommu(ADDRESS);
            iommu.unmap(iommu.map(hostMemory.allocate(4096, 4096)), 4096);
        }
    }

    /** Creates a device model (whose BAR memory is an arena) and never gives it to a bus. */
    static final class ArenaFixture {
        @Test
        void leavesAModelsMemoryOpen() {
            model = new EchoDevice();
        }

        @Test
        void freesIt() {
            new MockPciBus().add("0000:00:08.0", new EchoDevice()).close();
        }
    }

    /** Runs work on a workqueue of its own and forgets to destroy it: its idle worker stays alive (keep-alive). */
    static final class WorkqueueFixture {
        @Test
        void leavesAWorkerRunning() {
            queue = Workqueue.builder("leak-fixture").build();
            queue.enqueue(new Work("fixture work", () -> { }));
            queue.flush();
        }

        @Test
        void destroysIt() {
            Workqueue q = Workqueue.builder("clean-fixture").build();
            q.enqueue(new Work("fixture work", () -> { }));
            q.destroy();
        }
    }

    private static String onlyFailure(Class<?> fixture) {
        EngineExecutionResults r = EngineTestKit.engine("junit-jupiter")
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
                .selectors(selectClass(fixture)).execute();
        assertEquals(1, r.testEvents().succeeded().count(), "the test that cleans up passes");
        List<Event> failed = r.testEvents().failed().list();
        assertEquals(1, failed.size(), "the leaking test fails");
        assertEquals(0, r.containerEvents().failed().count(), "reported once, by the test, not again by its class");
        return failed.getFirst().getPayload(TestExecutionResult.class).orElseThrow().getThrowable().orElseThrow()
                .getMessage();
    }

    @Test
    void aTestLeavingAnIovaMappingFailsAndNamesIt() {
        // The device and host memory exist before the fixture runs: only the mapping is the fixture's.
        bus = new MockPciBus().add(ADDRESS, new EchoDevice(), MockPciBus.Mode.STEPPED);
        hostMemory = Arena.ofShared();
        String message = onlyFailure(IovaFixture.class);
        assertTrue(message.contains("test leavesAMapping() leaked 1 Ferrum resource(s)"), message);
        assertTrue(message.contains("IOVA mapping: mock IOMMU"), message);
        assertTrue(message.contains(", 4096 bytes"), message);
    }

    @Test
    void aTestLeavingAnArenaOpenFailsAndNamesIt() {
        String message = onlyFailure(ArenaFixture.class);
        assertTrue(message.contains("test leavesAModelsMemoryOpen() leaked 1 Ferrum resource(s)"), message);
        assertTrue(message.contains("arena: BAR memory of device model EchoDevice@"), message);
    }

    @Test
    void aTestLeavingAWorkqueueWorkerRunningFailsAndNamesIt() {
        String message = onlyFailure(WorkqueueFixture.class);
        assertTrue(message.contains("test leavesAWorkerRunning() leaked"), message);
        assertTrue(message.contains("worker of workqueue 'leak-fixture'"), message);
    }
}
