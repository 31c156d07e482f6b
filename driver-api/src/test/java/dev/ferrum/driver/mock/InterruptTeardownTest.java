package dev.ferrum.driver.mock;

import dev.ferrum.driver.pci.InterruptVector;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.driver.pci.PciDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A device model raising interrupts while the device goes away must never write to an eventfd the PCI layer has
 * closed: the number of a closed descriptor is reused by the next file the process opens.
 */
class InterruptTeardownTest {
    static final PciAddress A = PciAddress.parse("0000:01:00.0");

    /** Raises both vectors on every step while MSI-X is enabled. */
    static final class StormDevice extends DeviceModel {
        StormDevice() {
            super(DeviceConfig.builder(0x1de5, 0x5707, 0xff0000).bar(0, 4096).msix(2, 0, 0x800, 0xc00).build());
        }

        @Override
        protected boolean process() {
            if (!msixEnabled()) {
                return false;
            }
            raiseInterrupt(0);
            raiseInterrupt(1);
            return true;
        }

        @Override
        protected void reset() {}
    }

    /** Checks, at each write and when routing is dropped, that the eventfds are still open. */
    static final class Recorder implements MockFunction.InterruptProbe {
        final List<String> problems = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger writes = new AtomicInteger();
        volatile boolean detached;

        @Override
        public void writing(int fd) {
            writes.incrementAndGet();
            if (detached) {
                problems.add("write to eventfd " + fd + " after the routing was dropped");
            }
            if (!isOpenEventfd(fd)) {
                problems.add("write to descriptor " + fd + ", which is not an open eventfd");
            }
        }

        @Override
        public void detached(int[] fds) {
            detached = true;
            for (int fd : fds) {
                if (!isOpenEventfd(fd)) {
                    problems.add("routing to eventfd " + fd + " was dropped only after it was closed");
                }
            }
        }

        static boolean isOpenEventfd(int fd) {
            try {
                return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().equals("anon_inode:[eventfd]");
            } catch (IOException e) {
                return false;
            }
        }
    }

    private static void awaitWrites(Recorder r, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (r.writes.get() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the model raised only " + r.writes.get() + " interrupts");
            }
            Thread.sleep(1);
        }
    }

    @Test
    void surpriseRemovalDetachesTheModelsInterruptsBeforeTheEventfdsAreClosed() throws Exception {
        MockPciBus mock = new MockPciBus().add(A.toString(), new StormDevice());
        Recorder recorder = new Recorder();
        ((MockFunction) mock.functions().getFirst()).probe = recorder;
        try (PciBus bus = PciBus.open(mock)) {
            PciDevice device = bus.device(A).orElseThrow();
            List<InterruptVector> vectors = device.enableMsix(2);
            awaitWrites(recorder, 200);
            assertTrue(vectors.get(1).await(Duration.ofSeconds(10)) > 0, "interrupts are delivered");

            mock.surpriseRemove(A); // the model keeps raising until it is stopped

            assertTrue(recorder.detached, "the routing was dropped");
            assertEquals(List.of(), recorder.problems);
            int after = recorder.writes.get();
            Thread.sleep(20);
            assertEquals(after, recorder.writes.get(), "no interrupt is raised after the removal");
            assertFalse(device.isPresent());
        }
    }

    @Test
    void orderlyRemovalAndBusCloseDetachBeforeClosingToo() throws Exception {
        MockPciBus mock = new MockPciBus().add(A.toString(), new StormDevice())
                .add("0000:02:00.0", new StormDevice());
        Recorder first = new Recorder();
        Recorder second = new Recorder();
        ((MockFunction) mock.functions().get(0)).probe = first;
        ((MockFunction) mock.functions().get(1)).probe = second;
        PciBus bus = PciBus.open(mock);
        try {
            bus.device(A).orElseThrow().enableMsix(1);
            bus.device(PciAddress.parse("0000:02:00.0")).orElseThrow().enableMsix(2);
            awaitWrites(first, 100);
            awaitWrites(second, 100);
            mock.remove(A);
        } finally {
            bus.close();
        }
        assertTrue(first.detached && second.detached);
        assertEquals(List.of(), first.problems);
        assertEquals(List.of(), second.problems);
    }
}
