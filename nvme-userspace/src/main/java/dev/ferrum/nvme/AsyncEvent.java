package dev.ferrum.nvme;

/**
 * An asynchronous event the controller reported by completing an Asynchronous Event Request (figure 146).
 *
 * @param type    event type (DW0 [2:0]): 0 error, 1 SMART/health, 2 notice, 6 I/O command set specific, 7 vendor
 * @param info    asynchronous event information (DW0 [15:8])
 * @param logPage the log page to read for details (DW0 [23:16])
 */
public record AsyncEvent(int type, int info, int logPage) {
    public static final int TYPE_ERROR = 0;
    public static final int TYPE_SMART = 1;
    public static final int TYPE_NOTICE = 2;

    static AsyncEvent fromDw0(int dw0) {
        return new AsyncEvent(dw0 & 7, (dw0 >>> 8) & 0xff, (dw0 >>> 16) & 0xff);
    }
}
