package dev.ferrum.driver.vfio.internal;

import dev.ferrum.sys.linux.vfio_info_cap_header;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Walks a VFIO capability chain ({@code struct vfio_info_cap_header} entries linked by {@code next}, offsets from
 * the start of the info structure) inside the buffer an ioctl filled. The kernel is trusted, but a walk that reads
 * outside the buffer or loops would be a JVM-level bug, so every link is checked.
 *
 * <p>Invariants: the visitor sees only capabilities whose header lies inside the buffer, each at most once, at
 * 4-byte aligned offsets after the fixed part of the structure, in increasing offset order.
 */
public final class CapChain {
    /** Sanity bound on the chain length. */
    private static final int MAX_CAPS = 64;

    /** Receives one capability. */
    @FunctionalInterface
    public interface Visitor {
        /**
         * @param id      the capability ID
         * @param version its version
         * @param cap     a copy of the capability, from its header to the end of the buffer, 8-byte aligned,
         *                valid only during the call
         */
        void visit(int id, int version, MemorySegment cap);
    }

    private CapChain() {}

    /**
     * {@return the {@code count} entries of {@code entrySize} bytes that follow the {@code fixed}-byte head of a
     * capability (its flexible array), as slices of {@code cap}}
     *
     * @throws IllegalStateException if the capability is truncated or the entries do not fit it
     */
    public static List<MemorySegment> array(MemorySegment cap, long fixed, long count, long entrySize, String what) {
        if (cap.byteSize() < fixed || count < 0 || count > (cap.byteSize() - fixed) / entrySize) {
            throw new IllegalStateException(what + " claims " + count + " entries, but the " + cap.byteSize()
                    + "-byte capability holds " + Math.max(0, (cap.byteSize() - fixed) / entrySize));
        }
        List<MemorySegment> entries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            entries.add(cap.asSlice(fixed + i * entrySize, entrySize));
        }
        return entries;
    }

    /**
     * Runs an info ioctl whose structure starts with {@code __u32 argsz; __u32 flags;} (as every VFIO info structure
     * does) and may carry capabilities: when they do not fit, the kernel sets {@code capsFlag}, reports the size it
     * needs in {@code argsz} and leaves {@code cap_offset} 0; the call is then repeated with a buffer of that size.
     *
     * @param fixedSize the structure's size without capabilities
     * @param call      fills the other input fields of the buffer ({@code argsz} is set) and makes the ioctl
     * @param parse     reads the filled buffer, valid only during the call
     */
    public static <T> T query(long fixedSize, int capsFlag, String what, Consumer<MemorySegment> call,
                              Function<MemorySegment, T> parse) {
        long size = fixedSize;
        for (int attempt = 0; attempt < 4; attempt++) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(size, 8);
                buf.set(ValueLayout.JAVA_INT, 0, (int) size);
                call.accept(buf);
                long needed = Integer.toUnsignedLong(buf.get(ValueLayout.JAVA_INT, 0));
                if ((buf.get(ValueLayout.JAVA_INT, 4) & capsFlag) != 0 && needed > size) {
                    size = needed;
                    continue;
                }
                return parse.apply(buf);
            }
        }
        throw new IllegalStateException(what + ": the kernel kept asking for a larger buffer (last argsz " + size
                + ")");
    }

    /**
     * @param info        the info structure as filled by the kernel, exactly as many bytes as it reported valid
     * @param firstOffset the structure's {@code cap_offset} (0: no capabilities)
     * @param fixedSize   the size of the structure's fixed part: capabilities start at or after it
     * @param what        names the structure in error messages
     * @throws IllegalStateException if a link points outside the buffer, backwards, or misaligned
     */
    public static void walk(MemorySegment info, long firstOffset, long fixedSize, String what, Visitor visitor) {
        long header = vfio_info_cap_header.sizeof();
        long offset = firstOffset;
        long previous = fixedSize - 1;
        try (Arena arena = Arena.ofConfined()) {
            for (int n = 0; offset != 0; n++) {
                if (n == MAX_CAPS) {
                    throw new IllegalStateException(what + ": capability chain longer than " + MAX_CAPS + " entries");
                }
                if (offset <= previous || (offset & 3) != 0 || offset > info.byteSize() - header) {
                    throw new IllegalStateException(what + ": capability at offset " + offset + " is outside the "
                            + info.byteSize() + "-byte buffer, misaligned, or not after the previous one");
                }
                // Linux before 6.5 packs capabilities without aligning them (after the 12-byte DMA-available
                // capability of VFIO_IOMMU_GET_INFO the next one sits at 4 mod 8), while the generated accessors
                // check natural alignment: the visitor gets an 8-aligned copy.
                MemorySegment cap = arena.allocate(info.byteSize() - offset, 8).copyFrom(info.asSlice(offset));
                visitor.visit(Short.toUnsignedInt(vfio_info_cap_header.id(cap)),
                        Short.toUnsignedInt(vfio_info_cap_header.version(cap)), cap);
                previous = offset;
                offset = Integer.toUnsignedLong(vfio_info_cap_header.next(cap));
            }
        }
    }
}
