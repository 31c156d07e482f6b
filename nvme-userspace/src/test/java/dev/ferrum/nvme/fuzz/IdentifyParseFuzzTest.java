package dev.ferrum.nvme.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferrum.nvme.ControllerInfo;
import dev.ferrum.nvme.NamespaceInfo;
import dev.ferrum.testsupport.ParserContract;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the Identify parsers with whatever a device might return (any bytes; short or padded). The contract: a valid
 * record whose every size and count is in range, or an {@link IllegalArgumentException} with a message; nothing
 * else.
 */
class IdentifyParseFuzzTest {

    /**
     * The raw input as Identify data: short inputs as they are (the parsers refuse them), others zero-padded to the
     * 4096 bytes a device returns, so that the fuzzer (whose inputs stay below 4 KiB) reaches the field checks.
     */
    static MemorySegment identifyData(FuzzedDataProvider data) {
        byte[] input = data.consumeRemainingAsBytes();
        return input.length < 64 ? MemorySegment.ofArray(input) : MemorySegment.ofArray(Arrays.copyOf(input, 4096));
    }

    @FuzzTest(maxDuration = "30s")
    void controller(FuzzedDataProvider data) {
        ControllerInfo info;
        try {
            info = ControllerInfo.parse(identifyData(data));
        } catch (IllegalArgumentException e) {
            ParserContract.hasMessage(e);
            return;
        }
        assertTrue(info.mdts() >= 0 && info.mdts() <= 20, "MDTS " + info.mdts());
        assertTrue(info.maxTransferBytes(4096) >= 0, "transfer size does not overflow");
        assertTrue((info.sqes() & 0xf) <= 6 && (info.sqes() >>> 4) >= 6, "SQES");
        assertTrue((info.cqes() & 0xf) <= 4 && (info.cqes() >>> 4) >= 4, "CQES");
        assertTrue(info.abortLimit() >= 1 && info.abortLimit() <= 256, "ACL");
        assertTrue(info.asyncEventLimit() >= 1 && info.asyncEventLimit() <= 256, "AERL");
        assertTrue(info.errorLogEntries() >= 1 && info.errorLogEntries() <= 256, "ELPE");
        assertTrue(info.namespaceCount() >= 0 && info.namespaceCount() <= 0xffffffffL, "NN");
        for (String text : new String[] {info.serialNumber(), info.modelNumber(), info.firmwareRevision(),
                info.subsystemNqn()}) {
            ParserContract.printable(text);
        }
        info.versionString();
    }

    @FuzzTest(maxDuration = "30s")
    void namespace(FuzzedDataProvider data) {
        NamespaceInfo ns;
        try {
            ns = NamespaceInfo.parse(1, identifyData(data));
        } catch (IllegalArgumentException e) {
            ParserContract.hasMessage(e);
            return;
        }
        int bs = ns.blockSize();
        assertTrue(bs >= 512 && bs <= 65536 && Integer.bitCount(bs) == 1, "block size " + bs);
        assertTrue(ns.size() > 0, "NSZE " + ns.size());
        assertTrue(ns.sizeBytes() > 0 && ns.sizeBytes() / bs == ns.size(), "size in bytes does not overflow");
        assertTrue(Long.compareUnsigned(ns.capacity(), ns.size()) <= 0, "NCAP <= NSZE");
        assertTrue(Long.compareUnsigned(ns.utilization(), ns.capacity()) <= 0, "NUSE <= NCAP");
        assertTrue(!ns.formats().isEmpty() && ns.formats().size() <= 16, ns.formats().size() + " formats");
        assertTrue(ns.formatIndex() >= 0 && ns.formatIndex() < ns.formats().size(), "FLBAS");
        assertEquals(bs, ns.formats().get(ns.formatIndex()).dataSize());
        assertEquals(0, ns.formats().get(ns.formatIndex()).metadataSize());
        assertEquals(32, ns.nguid().length());
        assertEquals(16, ns.eui64().length());
    }
}
