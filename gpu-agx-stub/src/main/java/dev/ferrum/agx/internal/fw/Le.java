package dev.ferrum.agx.internal.fw;

import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Little-endian field layouts and access handles shared by every firmware structure. The GPU (like PCI) is little
 * endian whatever the host. Each handle takes {@code (MemorySegment, long offset)}: always pass a {@code long}.
 *
 * <p>Invariants: the handles are the only way driver code reads or writes shared structures, so every access is
 * little endian and naturally aligned.
 */
public final class Le {
    private Le() {}

    /** A little-endian {@code u32} field. */
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** A little-endian {@code u64} field. */
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** {@code (MemorySegment, long) -> int}. */
    public static final VarHandle INT = U32.varHandle();
    /** {@code (MemorySegment, long) -> long}. */
    public static final VarHandle LONG = U64.varHandle();
}
