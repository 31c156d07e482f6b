package dev.ferrum.nvme;

/**
 * Completion callback of an asynchronous command, the allocation-free form (SPDK's {@code spdk_nvme_cmd_cb}).
 * Runs on the thread that processes the queue pair's completions; the command's data buffer is already unpinned
 * when it runs, so the buffer may be reused or closed.
 */
@FunctionalInterface
public interface IoCallback {
    /**
     * @param tag    the value given at submission
     * @param status {@link IoStatus#SUCCESS}, an NVMe status, or one of the driver's negative statuses; decode with
     *               {@link IoStatus}
     */
    void complete(long tag, int status);
}
