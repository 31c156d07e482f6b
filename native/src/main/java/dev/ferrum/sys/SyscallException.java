package dev.ferrum.sys;

/**
 * A system call failed. The message names the call (with what it was doing), the errno's symbolic name, its
 * meaning and its number, e.g. {@code ioctl(VFIO_GROUP_GET_STATUS) on /dev/vfio/12 failed: EBADF (Bad file
 * descriptor), errno 9}.
 *
 * <p>Invariants: {@link #errno()} is the value of {@code errno} captured immediately after the failing call
 * (never read later, when another call may have overwritten it); {@link #errnoName()} and
 * {@link #description()} are derived from it.
 */
public final class SyscallException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public SyscallException(String call, int errno) {
        this(call, errno, null);
    }

    /**
     * @param call  the call and its context, e.g. {@code "open(/dev/vfio/vfio)"}
     * @param errno the captured errno
     * @param hint  advice for the user (how to fix it), or {@code null}
     */
    public SyscallException(String call, int errno, String hint) {
        super(call + " failed: " + Errno.name(errno) + " (" + Errno.description(errno) + "), errno " + errno
                + (hint == null ? "" : ". " + hint));
        this.call = call;
        this.errno = errno;
    }

    /** {@return the failing call and its context, as given} */
    public String call() {
        return call;
    }

    /** {@return the errno value} */
    public int errno() {
        return errno;
    }

    /** {@return the symbolic errno name, e.g. {@code EBADF}} */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** {@return the errno's meaning, e.g. {@code Bad file descriptor}} */
    public String description() {
        return Errno.description(errno);
    }
}
