package dev.ferrum.agx;

import dev.ferrum.agx.internal.fw.CommandLayout;

import java.time.Duration;
import java.util.Objects;

/**
 * A compute job: one of the simulated GPU's kernels over buffers in GPU virtual address space. Immutable.
 *
 * <ul>
 *   <li>{@link #fill fill}: every 32-bit word of a range is set to a value;</li>
 *   <li>{@link #copy copy}: bytes are copied from one range to another;</li>
 *   <li>{@link #saxpy saxpy}: {@code y[i] = a * x[i] + y[i]} on 32-bit floats.</li>
 * </ul>
 *
 * <p>The factories taking {@link GpuBuffer}s check every offset and length against the buffers (an
 * {@link IllegalArgumentException} names the problem) and keep the buffers pinned while the job is in flight. The
 * {@code ...At} factories take raw GPU virtual addresses, as a shader holding pointers would: the driver cannot
 * check them, and a bad address surfaces as a {@link GpuFaultException} from the GPU's MMU.
 *
 * <p>Invariants: lengths are positive and at most 64 MiB; word and float ranges are 4-byte aligned; the timeout,
 * if set, is positive and fits the firmware's 32-bit millisecond field.
 */
public final class ComputeJob {
    /** The kernel a job runs. */
    public enum Kind { FILL, COPY, SAXPY }

    private final Kind kind;
    private final GpuBuffer src;
    private final GpuBuffer dst;
    private final long srcVa;
    private final long dstVa;
    private final long srcOffset;
    private final long dstOffset;
    private final long length;
    private final int scalar;
    private final Duration timeout;

    private ComputeJob(Kind kind, GpuBuffer src, long srcOffset, long srcVa, GpuBuffer dst, long dstOffset, long dstVa,
                       long length, int scalar, Duration timeout) {
        this.kind = kind;
        this.src = src;
        this.dst = dst;
        this.srcOffset = srcOffset;
        this.dstOffset = dstOffset;
        this.srcVa = srcVa;
        this.dstVa = dstVa;
        this.length = length;
        this.scalar = scalar;
        this.timeout = timeout;
    }

    /** Fills all of {@code dst} with the 32-bit {@code value}. */
    public static ComputeJob fill(GpuBuffer dst, int value) {
        return fill(dst, 0, dst.byteSize(), value);
    }

    /**
     * Fills {@code bytes} of {@code dst} from {@code offset} with the 32-bit {@code value} (little endian).
     *
     * @throws IllegalArgumentException if the range is not inside {@code dst}, not 4-byte aligned, empty or too
     *                                  long, or {@code dst} is read-only
     */
    public static ComputeJob fill(GpuBuffer dst, long offset, long bytes, int value) {
        checkLength("fill", bytes, CommandLayout.MAX_BYTES);
        checkRange("fill destination", dst, offset, bytes, true);
        checkAligned("fill", offset, bytes);
        return new ComputeJob(Kind.FILL, null, 0, 0, dst, offset, 0, bytes, value, null);
    }

    /** Copies all of {@code src} to the start of {@code dst}. */
    public static ComputeJob copy(GpuBuffer src, GpuBuffer dst) {
        return copy(src, 0, dst, 0, src.byteSize());
    }

    /**
     * Copies {@code bytes} from {@code src} at {@code srcOffset} to {@code dst} at {@code dstOffset}.
     *
     * @throws IllegalArgumentException if a range is not inside its buffer, empty or too long, or {@code dst} is
     *                                  read-only
     */
    public static ComputeJob copy(GpuBuffer src, long srcOffset, GpuBuffer dst, long dstOffset, long bytes) {
        checkLength("copy", bytes, CommandLayout.MAX_BYTES);
        checkRange("copy source", src, srcOffset, bytes, false);
        checkRange("copy destination", dst, dstOffset, bytes, true);
        return new ComputeJob(Kind.COPY, src, srcOffset, 0, dst, dstOffset, 0, bytes, 0, null);
    }

    /**
     * {@code y[i] = a * x[i] + y[i]} for the first {@code n} floats of {@code x} and {@code y}.
     *
     * @throws IllegalArgumentException if {@code n} floats do not fit a buffer, {@code n} is not positive or too
     *                                  large, or {@code y} is read-only
     */
    public static ComputeJob saxpy(float a, GpuBuffer x, GpuBuffer y, int n) {
        checkLength("saxpy", n, CommandLayout.MAX_BYTES / 4);
        checkRange("saxpy x", x, 0, 4L * n, false);
        checkRange("saxpy y", y, 0, 4L * n, true);
        return new ComputeJob(Kind.SAXPY, x, 0, 0, y, 0, 0, n, Float.floatToRawIntBits(a), null);
    }

    /** Like {@link #fill(GpuBuffer, long, long, int)} at a raw, unchecked GPU virtual address. */
    public static ComputeJob fillAt(long gpuVa, long bytes, int value) {
        checkLength("fill", bytes, CommandLayout.MAX_BYTES);
        return new ComputeJob(Kind.FILL, null, 0, 0, null, 0, gpuVa, bytes, value, null);
    }

    /** Like {@link #copy(GpuBuffer, long, GpuBuffer, long, long)} between raw, unchecked GPU virtual addresses. */
    public static ComputeJob copyAt(long srcVa, long dstVa, long bytes) {
        checkLength("copy", bytes, CommandLayout.MAX_BYTES);
        return new ComputeJob(Kind.COPY, null, 0, srcVa, null, 0, dstVa, bytes, 0, null);
    }

    /**
     * Like {@link #saxpy(float, GpuBuffer, GpuBuffer, int)} on raw, unchecked GPU virtual addresses.
     *
     * @throws IllegalArgumentException if an address is not 4-byte aligned
     */
    public static ComputeJob saxpyAt(float a, long xVa, long yVa, int n) {
        checkLength("saxpy", n, CommandLayout.MAX_BYTES / 4);
        if ((xVa & 3) != 0 || (yVa & 3) != 0) {
            throw new IllegalArgumentException("saxpy addresses 0x" + Long.toHexString(xVa) + " and 0x"
                    + Long.toHexString(yVa) + " must be 4-byte aligned");
        }
        return new ComputeJob(Kind.SAXPY, null, 0, xVa, null, 0, yVa, n, Float.floatToRawIntBits(a), null);
    }

    /**
     * {@return this job with a timeout: the firmware kills it (with {@link GpuTimeoutException}) if it runs longer}
     *
     * @throws IllegalArgumentException if {@code timeout} is not positive or longer than {@code 2^31 - 1} ms
     */
    public ComputeJob withTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.toMillis() < 1 || timeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("job timeout " + timeout + " is not 1 ms .. 2^31-1 ms");
        }
        return new ComputeJob(kind, src, srcOffset, srcVa, dst, dstOffset, dstVa, length, scalar, timeout);
    }

    private static void checkLength(String what, long length, long max) {
        if (length <= 0 || length > max) {
            throw new IllegalArgumentException(what + " length " + length + " is not 1.." + max);
        }
    }

    private static void checkRange(String what, GpuBuffer b, long offset, long bytes, boolean written) {
        Objects.requireNonNull(b, what);
        if (offset < 0 || offset > b.byteSize() || bytes > b.byteSize() - offset) {
            throw new IllegalArgumentException(what + " range [" + offset + ", " + offset + " + " + bytes
                    + ") is outside " + b);
        }
        if (written && b.access() == GpuBuffer.Access.READ_ONLY) {
            throw new IllegalArgumentException(what + " " + b + " is read-only for the GPU");
        }
    }

    private static void checkAligned(String what, long offset, long bytes) {
        if ((offset & 3) != 0 || (bytes & 3) != 0) {
            throw new IllegalArgumentException(what + " offset " + offset + " and length " + bytes
                    + " must be multiples of 4 (it writes 32-bit words)");
        }
    }

    /** {@return the kernel} */
    public Kind kind() {
        return kind;
    }

    /** {@return the length: bytes for fill and copy, floats for saxpy} */
    public long length() {
        return length;
    }

    /** {@return the fill value, or the raw bits of saxpy's {@code a}} */
    public int scalar() {
        return scalar;
    }

    /** {@return the job's own timeout, or null to use the device's default} */
    public Duration timeout() {
        return timeout;
    }

    /** {@return the GPU VA the job reads (copy source, saxpy x), or 0 for fill} */
    long sourceAddress() {
        return kind == Kind.FILL ? 0 : src != null ? src.gpuAddress() + srcOffset : srcVa;
    }

    /** {@return the GPU VA the job writes} */
    long destinationAddress() {
        return dst != null ? dst.gpuAddress() + dstOffset : dstVa;
    }

    /** {@return the buffers to pin while the job is in flight (0, 1 or 2; may repeat one)} */
    GpuBuffer[] buffers() {
        if (src != null && dst != null) {
            return new GpuBuffer[] {src, dst};
        }
        if (dst != null) {
            return new GpuBuffer[] {dst};
        }
        return new GpuBuffer[0];
    }

    int op() {
        return switch (kind) {
            case FILL -> CommandLayout.OP_FILL;
            case COPY -> CommandLayout.OP_COPY;
            case SAXPY -> CommandLayout.OP_SAXPY;
        };
    }

    @Override
    public String toString() {
        return "ComputeJob[" + kind + ", " + length + (kind == Kind.SAXPY ? " floats" : " bytes") + "]";
    }
}
