package dev.ferrum.agx;

import dev.ferrum.agx.firmware.AgxFirmware;
import dev.ferrum.agx.internal.fw.Regs;
import dev.ferrum.driver.mock.IommuFault;
import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaPool;
import dev.ferrum.memory.Mmio;

import java.lang.foreign.MemorySegment;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A simulated AGX GPU on a mock PCI bus with the driver bound. {@link #close()} closes everything and checks that
 * the mock IOMMU blocked nothing the driver was not told about (over every fault it recorded since the bed was
 * opened), no DMA buffer leaked and no device thread is left running.
 */
final class TestBed implements AutoCloseable {
    static final PciAddress ADDRESS = PciAddress.parse("0000:0a:00.0");
    static final Duration WAIT = Duration.ofSeconds(20);

    final long dmaBefore;
    final MockPciBus mock;
    final PciBus bus;
    final AgxFirmware firmware;
    final AgxDevice gpu;
    /** DMA buffers of the device's infrastructure right after open. */
    final int infrastructure;

    private TestBed(AgxOptions options, MockPciBus.Mode mode) {
        dmaBefore = DmaPool.liveBuffersGlobally();
        firmware = new AgxFirmware();
        mock = new MockPciBus().add(ADDRESS, firmware, mode);
        bus = PciBus.open(mock);
        if (mode == MockPciBus.Mode.THREADED) {
            gpu = AgxDevice.open(bus, ADDRESS, options);
        } else {
            gpu = openStepped(options);
        }
        infrastructure = gpu.liveDmaBuffers();
    }

    /** Opens the device on a helper thread while this thread steps the firmware through its boot. */
    private AgxDevice openStepped(AgxOptions options) {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread opener = Thread.ofPlatform().name("agx-test-open").start(() -> {
            try {
                result.set(AgxDevice.open(bus, ADDRESS, options));
            } catch (Throwable t) {
                result.set(t);
            }
        });
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (result.get() == null) {
            firmware.step();
            if (System.nanoTime() > deadline) {
                fail("the device did not open");
            }
            Thread.onSpinWait();
        }
        try {
            opener.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        if (result.get() instanceof Throwable t) {
            throw new AssertionError("open failed", t);
        }
        return (AgxDevice) result.get();
    }

    static TestBed threaded() {
        return new TestBed(AgxOptions.defaults(), MockPciBus.Mode.THREADED);
    }

    static TestBed threaded(AgxOptions options) {
        return new TestBed(options, MockPciBus.Mode.THREADED);
    }

    static TestBed stepped(AgxOptions options) {
        return new TestBed(options, MockPciBus.Mode.STEPPED);
    }

    /** Steps the (stepped) firmware until it is idle. */
    int step() {
        return firmware.stepUntilIdle(10_000);
    }

    /** Asserts that only the device's infrastructure holds DMA buffers (every buffer and job resource is back). */
    void assertNoJobResourcesLeft() {
        assertEquals(infrastructure, gpu.liveDmaBuffers(), "DMA buffers beyond the device's infrastructure");
    }

    /**
     * Asserts that the mock IOMMU blocked no DMA ({@code faults} is empty), or, if it did, that the firmware reported
     * it to the driver: the device failed with the firmware's IOMMU-fault code, naming the first blocked address. (A
     * blocked access nobody reported would be memory corruption the driver did not see.)
     */
    private void assertReported(List<IommuFault> faults) {
        if (faults.isEmpty()) {
            return;
        }
        assertTrue(gpu.failure().isPresent(), "the IOMMU blocked " + faults + " but the device did not fail ("
                + gpu.state() + ")");
        String failure = gpu.failure().orElseThrow();
        String address = "address 0x" + Long.toHexString(faults.getFirst().deviceAddress());
        assertTrue(failure.contains(Regs.crashReason(Regs.CRASH_IOMMU_FAULT)) && failure.contains(address),
                "the IOMMU blocked " + faults + ", but the device failed with: " + failure);
    }

    /** {@return the host memory at device address {@code iova}, as the firmware sees it through the IOMMU} */
    MemorySegment view(long iova, long length) {
        return mock.iommu(ADDRESS).translate(iova, length, false);
    }

    /** {@return the GPU's register window, as the driver sees it} */
    Mmio registers() {
        return bus.device(ADDRESS).orElseThrow().bar(0).get().mmio();
    }

    /** Runs {@code action} on a helper thread while stepping the firmware until it is done; rethrows its failure. */
    void whileStepping(Runnable action) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread th = Thread.ofPlatform().name("agx-test-stepped").start(() -> {
            try {
                action.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (th.isAlive()) {
            firmware.step();
            if (System.nanoTime() > deadline) {
                fail("the action did not finish while stepping");
            }
            Thread.onSpinWait();
        }
        if (failure.get() != null) {
            throw new AssertionError("the stepped action failed", failure.get());
        }
    }

    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for: " + what);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Awaits {@code fence} and asserts the job succeeded. */
    static void awaitOk(Fence fence) throws InterruptedException {
        assertTrue(fence.await(WAIT), fence + " did not complete in " + WAIT);
    }

    @Override
    public void close() {
        List<IommuFault> faults;
        try {
            gpu.close();
        } finally {
            faults = mock.iommu(ADDRESS).faults();
            bus.close();
        }
        assertEquals(AgxDevice.State.CLOSED, gpu.state());
        assertReported(faults);
        assertEquals(dmaBefore, DmaPool.liveBuffersGlobally(), "DMA buffers leaked");
        String a = ADDRESS.toString();
        List<String> prefixes = List.of("ferrum-mock-" + a, "ferrum-irq-" + a, "ferrum-wq-agx-" + a);
        AtomicBoolean none = new AtomicBoolean();
        await("device threads to end", () -> {
            none.set(Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                    .noneMatch(t -> prefixes.stream().anyMatch(p -> t.getName().startsWith(p))));
            return none.get();
        });
    }
}
