package dev.ferrum.nvme.mock;

import dev.ferrum.sys.nvme.nvme_error_log;

import java.lang.foreign.MemorySegment;

import static dev.ferrum.nvme.mock.Layout.U16;
import static dev.ferrum.nvme.mock.Layout.U32;
import static dev.ferrum.nvme.mock.Layout.U64;

/**
 * The Error Information log (NVMe 1.4 figure 193): the most recent errors, newest first, each with a unique,
 * increasing error count. Kept across controller resets, like the media's own log.
 *
 * <p>Invariants: at most {@code capacity} entries are kept; {@link #count()} is the total ever logged; entries are
 * plain longs/ints (no allocation when logging). Touched only on the controller thread.
 */
final class ErrorLog {
    static final long ENTRY = nvme_error_log.sizeof();
    /** Parameter Error Location when the error is not tied to one field. */
    static final int NO_LOCATION = 0xffff;
    /** SQ ID (and CID) for errors not tied to a command, e.g. an invalid doorbell write. */
    static final int NO_QUEUE = 0xffff;

    private final int capacity;
    private final long[] count;
    private final int[] sqid;
    private final int[] cid;
    private final int[] status;
    private final long[] lba;
    private final int[] nsid;
    private int next;
    private long total;

    ErrorLog(int capacity) {
        this.capacity = capacity;
        this.count = new long[capacity];
        this.sqid = new int[capacity];
        this.cid = new int[capacity];
        this.status = new int[capacity];
        this.lba = new long[capacity];
        this.nsid = new int[capacity];
    }

    /** Logs an error; {@code statusField} is the CQE status field with its phase tag in bit 0. */
    void add(int queueId, int commandId, int statusField, long errorLba, int namespace) {
        total++;
        count[next] = total;
        sqid[next] = queueId;
        cid[next] = commandId;
        status[next] = statusField;
        lba[next] = errorLba;
        nsid[next] = namespace;
        next = (next + 1) % capacity;
    }

    /** {@return the number of errors ever logged} */
    long count() {
        return total;
    }

    /** {@return the size in bytes of the log page} */
    long pageSize() {
        return capacity * ENTRY;
    }

    /** Renders the log page into {@code page} (at least {@link #pageSize()} bytes): newest entry first. */
    void render(MemorySegment page) {
        page.asSlice(0, pageSize()).fill((byte) 0);
        int kept = (int) Math.min(total, capacity);
        for (int i = 0; i < kept; i++) {
            int e = Math.floorMod(next - 1 - i, capacity);
            long o = i * ENTRY;
            U64.set(page, o + nvme_error_log.error_count$offset(), count[e]);
            U16.set(page, o + nvme_error_log.sqid$offset(), (short) sqid[e]);
            U16.set(page, o + nvme_error_log.cmdid$offset(), (short) cid[e]);
            U16.set(page, o + nvme_error_log.status_field$offset(), (short) status[e]);
            U16.set(page, o + nvme_error_log.param_error_location$offset(), (short) NO_LOCATION);
            U64.set(page, o + nvme_error_log.lba$offset(), lba[e]);
            U32.set(page, o + nvme_error_log.nsid$offset(), nsid[e]);
        }
    }
}
