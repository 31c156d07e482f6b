package dev.ferrum.nvme.mock;

/**
 * Asynchronous events (NVMe 1.4 section 5.2): outstanding Asynchronous Event Request commands, events waiting to be
 * reported, and the per-type masking the spec requires (after an event of a type is reported, further events of that
 * type wait until the host reads the event's log page with Retain Asynchronous Event cleared).
 *
 * <p>Invariants: at most {@code limit} requests are outstanding; at most {@link #MAX_EVENTS} events wait (later ones
 * are counted as lost); events are reported in the order they occurred within each type. Controller thread only.
 */
final class AsyncEvents {
    static final int MAX_EVENTS = 64;
    static final int TYPE_ERROR = 0;
    static final int TYPE_SMART = 1;
    static final int INFO_INVALID_DOORBELL_REGISTER = 0x00;
    static final int INFO_INVALID_DOORBELL_VALUE = 0x01;

    private final int limit;
    private final int[] requests;
    /** Written by the controller thread only; volatile so tests may read {@link #outstanding()} from theirs. */
    private volatile int requestCount;
    private final int[] events = new int[MAX_EVENTS];
    private int eventCount;
    /** Per event type: -1 when unmasked, else the log page whose read unmasks it. */
    private final int[] maskedUntilLog = new int[8];
    private long lost;

    AsyncEvents(int limit) {
        this.limit = limit;
        this.requests = new int[limit];
        clear();
    }

    /** {@return the DW0 of an event: type [2:0], information [15:8], log page [23:16]} */
    static int encode(int type, int info, int logPage) {
        return (type & 7) | (info & 0xff) << 8 | (logPage & 0xff) << 16;
    }

    /** Drops requests and events (controller reset). */
    void clear() {
        requestCount = 0;
        eventCount = 0;
        java.util.Arrays.fill(maskedUntilLog, -1);
    }

    /** Holds a request; {@return false if the limit is reached} */
    boolean addRequest(int cid) {
        if (requestCount == limit) {
            return false;
        }
        requests[requestCount++] = cid;
        return true;
    }

    int outstanding() {
        return requestCount;
    }

    boolean isOutstanding(int cid) {
        for (int i = 0; i < requestCount; i++) {
            if (requests[i] == cid) {
                return true;
            }
        }
        return false;
    }

    void post(int event) {
        if (eventCount == MAX_EVENTS) {
            lost++;
            return;
        }
        events[eventCount++] = event;
    }

    long lost() {
        return lost;
    }

    /** {@return the index of the first event that may be reported now, or -1} */
    int reportable() {
        if (requestCount == 0) {
            return -1;
        }
        for (int i = 0; i < eventCount; i++) {
            if (maskedUntilLog[events[i] & 7] < 0) {
                return i;
            }
        }
        return -1;
    }

    /** Takes event {@code index} and the oldest request; masks the event's type. {@return the event DW0} */
    int take(int index) {
        int e = events[index];
        System.arraycopy(events, index + 1, events, index, eventCount - index - 1);
        eventCount--;
        maskedUntilLog[e & 7] = (e >>> 16) & 0xff;
        return e;
    }

    /** {@return the command ID of the oldest outstanding request, removing it} */
    int takeRequest() {
        int cid = requests[0];
        System.arraycopy(requests, 1, requests, 0, requestCount - 1);
        requestCount--;
        return cid;
    }

    /** The host read log page {@code logPage} without retaining events: unmask the types it clears. */
    void logRead(int logPage) {
        for (int t = 0; t < maskedUntilLog.length; t++) {
            if (maskedUntilLog[t] == logPage) {
                maskedUntilLog[t] = -1;
            }
        }
    }
}
