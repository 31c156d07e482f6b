package dev.ferrum.example.checksum;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A CSUM-1 descriptor: one 32-byte entry of the ring in DMA memory. The driver writes the address, length and
 * operation; the device writes the result and then the status word.
 */
final class Descriptor {
    private Descriptor() {}

    // @start region="descriptor"
    static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).withName("address"), // of the data
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).withName("length"),   // bytes
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).withName("op"),
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).withName("result"),   // device writes
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).withName("status"),   // device writes, last
            MemoryLayout.paddingLayout(8)).withName("descriptor");

    static final int OP_CRC32C = 1;
    static final int DONE = 1 << 31;
    static final int CODE_MASK = 0xff;

    // Handles take (segment, long offset of the descriptor): static final, so access compiles to a plain move.
    private static final VarHandle ADDRESS = handle("address");
    private static final VarHandle LENGTH = handle("length");
    private static final VarHandle OP = handle("op");
    private static final VarHandle RESULT = handle("result");
    private static final VarHandle STATUS = handle("status");

    /** Fills the descriptor at {@code offset} of the ring; the doorbell write that follows publishes it. */
    static void write(MemorySegment ring, long offset, long address, int length, int op) {
        ADDRESS.set(ring, offset, address);
        LENGTH.set(ring, offset, length);
        OP.set(ring, offset, op);
        RESULT.set(ring, offset, 0);
        STATUS.set(ring, offset, 0);
    }

    /** The status word, read with acquire ordering: when it says DONE, the result read after it is complete. */
    static int status(MemorySegment ring, long offset) {
        return (int) STATUS.getAcquire(ring, offset);
    }

    static int result(MemorySegment ring, long offset) {
        return (int) RESULT.get(ring, offset);
    }
    // @end

    private static VarHandle handle(String field) {
        return LAYOUT.varHandle(PathElement.groupElement(field));
    }

    /** {@return the name of a descriptor status code} */
    static String codeName(int code) {
        return switch (code) {
            case 0 -> "OK";
            case 1 -> "BAD_OP (the device does not know the operation)";
            case 2 -> "BAD_LENGTH (the length is 0 or above the device's limit)";
            case 3 -> "DMA_FAULT (the IOMMU blocked the device's read of the data)";
            default -> "unknown status code " + code;
        };
    }
}
