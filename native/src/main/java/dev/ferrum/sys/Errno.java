package dev.ferrum.sys;

import dev.ferrum.sys.linux.Linux;

import java.lang.foreign.MemorySegment;

/**
 * Names and meanings of {@code errno} values, from glibc's {@code strerrorname_np}/{@code strerrordesc_np}
 * (both thread-safe, unlike {@code strerror}). Also the constants Ferrum tests against.
 *
 * <p>Invariants: not instantiable; the constants are this platform's values (from the jextract bindings), and
 * {@link #name} and {@link #description} never return null, for any {@code int}. Thread-safe.
 */
public final class Errno {
    public static final int EPERM = Linux.EPERM();
    public static final int ENOENT = Linux.ENOENT();
    public static final int EINTR = Linux.EINTR();
    public static final int EIO = Linux.EIO();
    public static final int ENXIO = Linux.ENXIO();
    public static final int EBADF = Linux.EBADF();
    public static final int EAGAIN = Linux.EAGAIN();
    public static final int ENOMEM = Linux.ENOMEM();
    public static final int EACCES = Linux.EACCES();
    public static final int EFAULT = Linux.EFAULT();
    public static final int EBUSY = Linux.EBUSY();
    public static final int EEXIST = Linux.EEXIST();
    public static final int ENODEV = Linux.ENODEV();
    public static final int EINVAL = Linux.EINVAL();
    public static final int ENOSPC = Linux.ENOSPC();
    public static final int ENOTTY = Linux.ENOTTY();
    public static final int ENOSYS = Linux.ENOSYS();
    public static final int ETIMEDOUT = Linux.ETIMEDOUT();

    private Errno() {}

    /** {@return the symbolic name of {@code errno}, e.g. {@code EBADF}, or {@code errno N} if unknown} */
    public static String name(int errno) {
        // SAFETY: strerrorname_np returns NULL or a pointer to a static, immutable NUL-terminated string.
        MemorySegment s = Linux.strerrorname_np(errno);
        return s.address() == 0 ? "errno " + errno : s.reinterpret(256).getString(0);
    }

    /** {@return the meaning of {@code errno}, e.g. {@code Bad file descriptor}} */
    public static String description(int errno) {
        // SAFETY: strerrordesc_np returns NULL or a pointer to a static, immutable NUL-terminated string.
        MemorySegment s = Linux.strerrordesc_np(errno);
        return s.address() == 0 ? "unknown error" : s.reinterpret(1024).getString(0);
    }
}
