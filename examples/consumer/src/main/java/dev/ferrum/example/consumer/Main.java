package dev.ferrum.example.consumer;

import dev.ferrum.driver.mock.MockPciBus;
import dev.ferrum.driver.pci.PciAddress;
import dev.ferrum.driver.pci.PciBus;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.nvme.IoQueuePair;
import dev.ferrum.nvme.Namespace;
import dev.ferrum.nvme.NvmeController;
import dev.ferrum.nvme.NvmeOptions;
import dev.ferrum.nvme.mock.MockNvmeController;

import java.lang.foreign.ValueLayout;

/**
 * Brings up Ferrum's NVMe driver on the mock NVMe controller, writes a block, reads it back and compares: the
 * smallest complete use of the library. Exits with status 1 if the data does not come back.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        PciAddress address = PciAddress.parse("0000:01:00.0");
        MockNvmeController nvme = new MockNvmeController(MockNvmeController.Config.builder()
                .namespace(1 << 16, 4096).build());
        try (PciBus bus = PciBus.open(new MockPciBus().add(address, nvme, MockPciBus.Mode.THREADED));
             NvmeController ctrl = NvmeController.attach(bus, address, NvmeOptions.defaults());
             IoQueuePair qp = ctrl.createQueuePair()) {
            Namespace ns = ctrl.namespace(1);
            try (DmaBuffer out = ctrl.dmaPool().allocate(ns.blockSize());
                 DmaBuffer in = ctrl.dmaPool().allocate(ns.blockSize())) {
                for (int i = 0; i < ns.blockSize(); i++) {
                    out.segment().set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31));
                }
                qp.write(ns, 7, 1, out);
                qp.read(ns, 7, 1, in);
                long mismatch = out.segment().mismatch(in.segment());
                System.out.printf("consumer: %s '%s', namespace 1: %d blocks of %d bytes; block 7 %s%n",
                        ctrl.address(), ctrl.info().modelNumber(), ns.blockCount(), ns.blockSize(),
                        mismatch == -1 ? "written and read back intact" : "differs at byte " + mismatch);
                if (mismatch != -1) {
                    System.exit(1);
                }
            }
        }
    }
}
