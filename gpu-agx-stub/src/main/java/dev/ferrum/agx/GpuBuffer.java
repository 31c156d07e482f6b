package dev.ferrum.agx;

import dev.ferrum.agx.internal.Uat;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.SpinLock;
import dev.ferrum.memory.DmaBuffer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Memory the GPU can use: a {@link DmaBuffer} mapped into the GPU's virtual address space (the role of a GEM object
 * bound into a VM in the Asahi driver). The CPU reads and writes it through {@link #segment()} (or the array
 * helpers); jobs refer to it by {@link #gpuAddress()}.
 *
 * <p>Closing unmaps it from the GPU page tables, invalidates the firmware's TLB for its range and waits for the
 * firmware to acknowledge that, and only then frees the memory, so the GPU can never reach memory that was reused.
 * A buffer used by a job that has not finished cannot be closed: {@link #close()} throws and leaves it intact.
 *
 * <p>Memory ordering: CPU writes made before a job is submitted are visible to the GPU when it runs the job (the
 * submission publishes them with a release store); GPU writes are visible to the CPU after the job's
 * {@link Fence} is signalled. Concurrent CPU and GPU access to the same bytes is a data race, as on hardware.
 *
 * <p>Invariants: the GPU mapping exists exactly while the buffer is open; the in-flight job count is never
 * negative; the memory is freed at most once, after the TLB invalidation (or after the firmware was stopped).
 */
public final class GpuBuffer implements AutoCloseable {
    /** What the GPU may do with the buffer. */
    public enum Access {
        /** Read and write. */
        READ_WRITE,
        /** Read only: a GPU write is a permission fault. */
        READ_ONLY
    }

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final class Users {
        int jobs;
        boolean closed;
        boolean closedByDevice;
    }

    private final AgxDevice device;
    private final DmaBuffer memory;
    private final Uat.Mapping mapping;
    private final Access access;
    private final SpinLock<Users> users = new SpinLock<>(new Users(), LockClass.named("agx.buffer"));

    GpuBuffer(AgxDevice device, DmaBuffer memory, Uat.Mapping mapping, Access access) {
        this.device = device;
        this.memory = memory;
        this.mapping = mapping;
        this.access = access;
    }

    /** {@return the GPU virtual address of the first byte} */
    public long gpuAddress() {
        return mapping.va();
    }

    /** {@return the size in bytes (a whole number of 4 KiB pages)} */
    public long byteSize() {
        return mapping.size();
    }

    /** {@return what the GPU may do with the buffer} */
    public Access access() {
        return access;
    }

    /** {@return the device the buffer belongs to} */
    public AgxDevice device() {
        return device;
    }

    /**
     * {@return the CPU view of the buffer (little-endian data, as the GPU sees it)}
     *
     * @throws IllegalStateException if the buffer is closed
     */
    public MemorySegment segment() {
        return memory.segment();
    }

    /** {@return whether the buffer is open} */
    public boolean isOpen() {
        return users.with(u -> !u.closed);
    }

    /** {@return the number of submitted jobs using the buffer that have not finished} */
    public int activeJobs() {
        return users.with(u -> u.jobs);
    }

    /** Writes {@code values} as little-endian floats from byte {@code offset}. */
    public void write(long offset, float[] values) {
        MemorySegment.copy(values, 0, segment(), F32, offset, values.length);
    }

    /** Writes {@code values} as little-endian ints from byte {@code offset}. */
    public void write(long offset, int[] values) {
        MemorySegment.copy(values, 0, segment(), I32, offset, values.length);
    }

    /** {@return {@code count} little-endian floats from byte {@code offset}} */
    public float[] readFloats(long offset, int count) {
        float[] out = new float[count];
        MemorySegment.copy(segment(), F32, offset, out, 0, count);
        return out;
    }

    /** {@return {@code count} little-endian ints from byte {@code offset}} */
    public int[] readInts(long offset, int count) {
        int[] out = new int[count];
        MemorySegment.copy(segment(), I32, offset, out, 0, count);
        return out;
    }

    /**
     * Unmaps the buffer from the GPU, invalidates the firmware's TLB for it (waiting for the acknowledgement), and
     * frees its memory.
     *
     * <p>Closing a buffer that the device already freed (because the device was closed first) does nothing.
     *
     * @throws IllegalStateException if a job using the buffer has not finished (nothing changes), or the buffer was
     *                               already closed
     * @throws GpuException          if the firmware did not acknowledge the TLB invalidation in time: the buffer is
     *                               unmapped but its memory is kept until the device closes
     */
    @Override
    public void close() {
        try (Guard<Users> g = users.lock()) {
            Users u = g.get();
            if (u.closedByDevice) {
                return; // the device closed first and freed the buffer with it
            }
            if (u.closed) {
                throw new IllegalStateException(this + " is already closed");
            }
            if (u.jobs > 0) {
                throw new IllegalStateException("cannot close " + this + ": " + u.jobs + " submitted job(s) using it"
                        + " have not finished; wait for their fences first");
            }
            u.closed = true;
        }
        device.releaseBuffer(this, false);
    }

    /** For the device's own shutdown: closes the buffer if the user did not. {@return whether this call did} */
    boolean closeForDevice() {
        try (Guard<Users> g = users.lock()) {
            Users u = g.get();
            if (u.closed) {
                return false;
            }
            u.closed = true;
            u.closedByDevice = true;
        }
        device.releaseBuffer(this, true);
        return true;
    }

    /**
     * Marks the buffer as used by a job about to be submitted and pins its memory.
     *
     * @throws IllegalStateException if the buffer is closed
     */
    void acquire(long jobId) {
        try (Guard<Users> g = users.lock()) {
            Users u = g.get();
            if (u.closed) {
                throw new IllegalStateException("job " + jobId + " uses " + this + ", which is closed");
            }
            u.jobs++;
        }
        memory.pin();
    }

    /** The job that {@link #acquire acquired} the buffer finished. */
    void release() {
        memory.unpin();
        users.run(u -> {
            if (u.jobs <= 0) {
                throw new IllegalStateException(this + " released by more jobs than acquired it");
            }
            u.jobs--;
        });
    }

    DmaBuffer memory() {
        return memory;
    }

    Uat.Mapping mapping() {
        return mapping;
    }

    void checkDevice(AgxDevice d) {
        if (d != device) {
            throw new IllegalArgumentException(this + " belongs to " + device + ", not to " + Objects.toString(d));
        }
    }

    @Override
    public String toString() {
        return "GpuBuffer[" + mapping.size() + " bytes @ GPU VA 0x" + Long.toHexString(mapping.va())
                + (access == Access.READ_ONLY ? ", read-only]" : "]");
    }
}
