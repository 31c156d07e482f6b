package dev.ferrum.bench;

import dev.ferrum.bench.internal.Backoff;

/**
 * What the NVMe benchmarks do with a driver and a device, whichever they are ({@link NvmeRig}: queue code and a
 * minimal null device; {@link MockNvmeRig}: the whole driver, or {@code RawQueue}, on the mock controller). In a
 * benchmark fork only one implementation is loaded, so the calls stay monomorphic.
 */
interface IoRig extends AutoCloseable {
    /** Submits one 4 KiB Read at the next LBA. */
    void submit();

    /** One device step (stepped device only). */
    void step();

    /** {@return completions reaped and delivered, at most {@code max}} */
    int complete(int max);

    /** {@return how this rig's benchmark thread waits for completions} */
    Backoff backoff();

    @Override
    void close();

    /** The stepped per-I/O operation: submit, step the device, complete. {@return completions (1)} */
    static int oneIo(IoRig rig) {
        rig.submit();
        rig.step();
        return rig.complete(1);
    }

    /** The threaded operation: wait for one completion (see {@link Backoff}), then submit a replacement. */
    static int completeAndResubmit(IoRig rig) {
        int n;
        Backoff b = rig.backoff();
        b.reset();
        while ((n = rig.complete(1)) == 0) {
            b.idle();
        }
        rig.submit();
        return n;
    }
}
