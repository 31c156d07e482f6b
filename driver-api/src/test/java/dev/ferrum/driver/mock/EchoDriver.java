package dev.ferrum.driver.mock;

import dev.ferrum.driver.pci.Bar;
import dev.ferrum.driver.pci.DeviceId;
import dev.ferrum.driver.pci.PciDevice;
import dev.ferrum.driver.pci.PciDriver;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.Mmio;

import java.util.ArrayList;
import java.util.List;

/** A test driver for {@link EchoDevice} recording its life cycle. */
public class EchoDriver implements PciDriver {
    public final List<String> events = new ArrayList<>();
    public volatile PciDevice device;
    public volatile Mmio regs;
    public volatile DmaBuffer buffer;
    public volatile RuntimeException failProbe;
    /** What {@code remove} read from the ID register: the value, or -1 if the window was already revoked. */
    public volatile long idSeenByRemove = Long.MIN_VALUE;
    private int sequence;

    @Override
    public String name() {
        return "echo";
    }

    @Override
    public List<DeviceId> idTable() {
        return List.of(DeviceId.of(EchoDevice.VENDOR, EchoDevice.DEVICE));
    }

    @Override
    public void probe(PciDevice dev, DeviceId id) {
        events.add("probe " + dev.address());
        dev.enableMemory();
        dev.setBusMaster(true);
        Bar bar = dev.bar(0).get();
        regs = bar.mmio();
        buffer = dev.dmaPool().allocate(4096);
        device = dev;
        if (failProbe != null) {
            throw failProbe;
        }
        if (regs.read32(EchoDevice.ID) != EchoDevice.ID_VALUE) {
            throw new IllegalStateException("bad ID register");
        }
    }

    /** Rings the doorbell for the first {@code len} bytes of the buffer; returns the sequence number. */
    public int ring(int len) {
        regs.write64(EchoDevice.DMA_ADDR, buffer.deviceAddress());
        regs.write32(EchoDevice.DMA_LEN, len);
        regs.write32(EchoDevice.DOORBELL, ++sequence);
        return sequence;
    }

    @Override
    public void remove(PciDevice dev) {
        events.add("remove " + dev.address());
        try {
            idSeenByRemove = Integer.toUnsignedLong(regs.read32(EchoDevice.ID));
        } catch (dev.ferrum.memory.RevokedException e) {
            idSeenByRemove = -1;
        }
    }
}
