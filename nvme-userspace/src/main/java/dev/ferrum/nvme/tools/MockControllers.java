package dev.ferrum.nvme.tools;

import dev.ferrum.nvme.mock.MockNvmeController;

import java.nio.file.Path;

/** Builds the mock NVMe controller the tools use without {@code --pci}, from the {@code --mock-*} options. */
final class MockControllers {
    private MockControllers() {}

    static MockNvmeController create(TargetOptions o) {
        if (o.mockBlockSize != 512 && o.mockBlockSize != 4096) {
            throw new IllegalArgumentException("--mock-block-size " + o.mockBlockSize + " is not 512 or 4096");
        }
        if (o.mockNamespaces < 1 || o.mockNamespaces > 16) {
            throw new IllegalArgumentException("--mock-namespaces " + o.mockNamespaces + " is not 1..16");
        }
        long blocks = o.mockSizeBytes() / o.mockBlockSize;
        if (blocks < 64) {
            throw new IllegalArgumentException("--mock-size " + o.mockSize + " holds fewer than 64 blocks");
        }
        MockNvmeController.Config.Builder b = MockNvmeController.Config.builder()
                .mdts(o.mockMdts)
                .nullMode(o.mockNull)
                .serial("FERRUM-MOCK-0001")
                .model("Ferrum mock NVMe controller");
        for (int i = 0; i < o.mockNamespaces; i++) {
            if (i == 0 && o.mockFile != null) {
                b.namespace(blocks, o.mockBlockSize, Path.of(o.mockFile));
            } else {
                b.namespace(blocks, o.mockBlockSize);
            }
        }
        return new MockNvmeController(b.build());
    }
}
