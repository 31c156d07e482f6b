package dev.ferrum.sys;

import dev.ferrum.sys.linux.Linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The system calls Ferrum makes, as errno-checked Java methods.
 *
 * <p>The symbols and their C signatures come from the jextract bindings ({@link Linux}); the handles are built
 * here again with {@link Linker.Option#captureCallState(String...) captureCallState("errno")}, because jextract's
 * own handles do not capture {@code errno}, and reading it after the call from Java would race with the JVM's own
 * use of libc. Every failing call throws {@link SyscallException} naming the call, the errno and its meaning.
 *
 * <p>This class checks results, not arguments: pointers and lengths passed in are trusted. Callers are the
 * {@code internal} packages of the safe modules, which own that responsibility.
 *
 * <p>Invariants: not instantiable; a method either returns the call's successful result or throws
 * {@link SyscallException} with the {@code errno} captured by that very call (never one left by another call or
 * thread); the method handles are built once, at class initialization. Thread-safe.
 */
public final class Syscalls {
    // SAFETY: the linker only builds this class's downcall handles (below), each from a C signature jextract took
    // from the system headers.
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    /**
     * Per-thread errno capture buffer for the calls on hot paths (interrupt eventfds, region access), so they do not
     * allocate; freed with its thread (an automatic arena).
     */
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(Linker.Option.captureStateLayout()));

    private static final ValueLayout.OfInt C_INT = Linux.C_INT;
    private static final ValueLayout.OfLong C_LONG = Linux.C_LONG;

    /** {@code MAP_FAILED}, {@code (void *) -1}. */
    private static final long MAP_FAILED = -1L;

    private static final MethodHandle OPEN = downcall(Linux.open.address(),
            FunctionDescriptor.of(C_INT, Linux.C_POINTER, C_INT, C_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = downcall(Linux.close$address(), Linux.close$descriptor());
    private static final MethodHandle IOCTL_PTR = downcall(Linux.ioctl.address(),
            FunctionDescriptor.of(C_INT, C_INT, C_LONG, Linux.C_POINTER), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = downcall(Linux.ioctl.address(),
            FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_LONG), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = downcall(Linux.mmap$address(), Linux.mmap$descriptor());
    private static final MethodHandle MUNMAP = downcall(Linux.munmap$address(), Linux.munmap$descriptor());
    private static final MethodHandle MLOCK = downcall(Linux.mlock$address(), Linux.mlock$descriptor());
    private static final MethodHandle MUNLOCK = downcall(Linux.munlock$address(), Linux.munlock$descriptor());
    private static final MethodHandle MADVISE = downcall(Linux.madvise$address(), Linux.madvise$descriptor());
    private static final MethodHandle PREAD = downcall(Linux.pread$address(), Linux.pread$descriptor());
    private static final MethodHandle PWRITE = downcall(Linux.pwrite$address(), Linux.pwrite$descriptor());
    private static final MethodHandle READ = downcall(Linux.read$address(), Linux.read$descriptor());
    private static final MethodHandle WRITE = downcall(Linux.write$address(), Linux.write$descriptor());
    private static final MethodHandle EVENTFD = downcall(Linux.eventfd$address(), Linux.eventfd$descriptor());
    private static final MethodHandle POLL = downcall(Linux.poll$address(), Linux.poll$descriptor());
    private static final MethodHandle SYSCONF = downcall(Linux.sysconf$address(), Linux.sysconf$descriptor());
    private static final MethodHandle GETRLIMIT = downcall(Linux.getrlimit$address(), Linux.getrlimit$descriptor());

    public static final int O_RDONLY = Linux.O_RDONLY();
    public static final int O_WRONLY = Linux.O_WRONLY();
    public static final int O_RDWR = Linux.O_RDWR();
    public static final int O_CLOEXEC = Linux.O_CLOEXEC();
    public static final int PROT_NONE = Linux.PROT_NONE();
    public static final int PROT_READ = Linux.PROT_READ();
    public static final int PROT_WRITE = Linux.PROT_WRITE();
    public static final int MAP_SHARED = Linux.MAP_SHARED();
    public static final int MAP_PRIVATE = Linux.MAP_PRIVATE();
    public static final int MAP_ANONYMOUS = Linux.MAP_ANONYMOUS();
    public static final int MAP_FIXED = Linux.MAP_FIXED();
    public static final int MAP_HUGETLB = Linux.MAP_HUGETLB();
    public static final int MAP_POPULATE = Linux.MAP_POPULATE();
    public static final int MADV_DONTFORK = Linux.MADV_DONTFORK();
    public static final int POLLIN = Linux.POLLIN();
    public static final int POLLERR = Linux.POLLERR();
    public static final int POLLHUP = Linux.POLLHUP();
    public static final int POLLNVAL = Linux.POLLNVAL();
    public static final int EFD_CLOEXEC = Linux.EFD_CLOEXEC();
    public static final int EFD_NONBLOCK = Linux.EFD_NONBLOCK();
    public static final int RLIMIT_MEMLOCK = Linux.RLIMIT_MEMLOCK();
    /** {@code RLIM_INFINITY} on Linux. */
    public static final long RLIM_INFINITY = -1L;

    private static final long PAGE_SIZE = sysconf(Linux._SC_PAGESIZE(), "sysconf(_SC_PAGESIZE)");

    private Syscalls() {}

    private static MethodHandle downcall(MemorySegment symbol, FunctionDescriptor fd, Linker.Option... more) {
        Linker.Option[] options = new Linker.Option[more.length + 1];
        options[0] = CAPTURE_ERRNO;
        System.arraycopy(more, 0, options, 1, more.length);
        // SAFETY: symbol and descriptor are jextract's for the same libc function (for the variadic open and ioctl,
        // the one call shape written out above), so the handle's Java signature matches the C ABI of the call.
        return LINKER.downcallHandle(symbol, fd, options);
    }

    private static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from a downcall", t);
    }

    /** {@return the system page size, {@code sysconf(_SC_PAGESIZE)}} */
    public static long pageSize() {
        return PAGE_SIZE;
    }

    /**
     * {@code open(path, flags, mode)}.
     *
     * @return the file descriptor
     */
    public static int open(String path, int flags, int mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: the path is a NUL-terminated copy in the confined arena, alive for the call; cs is the
            // errno capture buffer the handle was built for.
            int fd = (int) OPEN.invokeExact(cs, a.allocateFrom(path), flags, mode);
            if (fd < 0) {
                throw new SyscallException("open(" + path + ")", errno(cs));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code open(path, flags)}. */
    public static int open(String path, int flags) {
        return open(path, flags, 0);
    }

    /** {@code close(fd)}. */
    public static void close(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // close() is never retried on EINTR on Linux: the descriptor is released either way.
            // SAFETY: an int argument only; cs is the errno capture buffer the handle was built for.
            if ((int) CLOSE.invokeExact(cs, fd) < 0) {
                throw new SyscallException("close(" + fd + ")", errno(cs));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code ioctl(fd, request, arg)} with a pointer argument.
     *
     * @param what names the target for the error message, e.g. {@code /dev/vfio/vfio}
     * @return the non-negative result
     */
    public static int ioctl(int fd, long request, MemorySegment arg, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: the kernel reads and writes the request's structure at arg. Trusted, not checked (see the
            // class comment): the caller, an internal package, passes a live segment at least that large.
            int r = (int) IOCTL_PTR.invokeExact(cs, fd, request, arg);
            if (r < 0) {
                throw new SyscallException(ioctlName(request, what), errno(cs));
            }
            return r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, arg)} with an integer argument (or none: pass 0). */
    public static int ioctl(int fd, long request, long arg, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: integer arguments only; a request whose argument is a pointer goes through the overload above.
            int r = (int) IOCTL_LONG.invokeExact(cs, fd, request, arg);
            if (r < 0) {
                throw new SyscallException(ioctlName(request, what), errno(cs));
            }
            return r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static String ioctlName(long request, String what) {
        return "ioctl(" + VfioIoctl.name(request) + ")" + (what == null ? "" : " on " + what);
    }

    /**
     * {@code mmap(NULL, length, prot, flags, fd, offset)}.
     *
     * @return the address of the mapping (never {@code MAP_FAILED})
     */
    public static long mmap(long length, int prot, int flags, int fd, long offset, String what) {
        return mmap(0L, length, prot, flags, fd, offset, what);
    }

    /** {@code mmap(hint, length, prot, flags, fd, offset)}: with {@code MAP_FIXED}, {@code hint} is the address. */
    public static long mmap(long hint, long length, int prot, int flags, int fd, long offset, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: a zero-length segment only carries the address hint to the kernel.
            MemorySegment addr = MemorySegment.ofAddress(hint);
            MemorySegment p = (MemorySegment) MMAP.invokeExact(cs, addr, length, prot, flags, fd, offset);
            if (p.address() == MAP_FAILED) {
                throw new SyscallException("mmap(" + what + ", " + length + " bytes)", errno(cs));
            }
            return p.address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code munmap(address, length)}. */
    public static void munmap(long address, long length) {
        addressCall(MUNMAP, "munmap", address, length);
    }

    /** {@code mlock(address, length)}. */
    public static void mlock(long address, long length) {
        addressCall(MLOCK, "mlock", address, length);
    }

    /** {@code munlock(address, length)}. */
    public static void munlock(long address, long length) {
        addressCall(MUNLOCK, "munlock", address, length);
    }

    /** {@code madvise(address, length, advice)}. */
    public static void madvise(long address, long length, int advice) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: a zero-length segment only carries the address to the kernel, which validates the range.
            if ((int) MADVISE.invokeExact(cs, MemorySegment.ofAddress(address), length, advice) < 0) {
                throw new SyscallException("madvise(0x" + Long.toHexString(address) + ", " + length + ", " + advice
                        + ")", errno(cs));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static void addressCall(MethodHandle h, String name, long address, long length) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: a zero-length segment only carries the address to the kernel, which validates the range.
            if ((int) h.invokeExact(cs, MemorySegment.ofAddress(address), length) < 0) {
                throw new SyscallException(name + "(0x" + Long.toHexString(address) + ", " + length + ")", errno(cs));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code pread(fd, buf, buf.byteSize(), offset)}, retried on {@code EINTR}.
     *
     * @return bytes read
     */
    public static long pread(int fd, MemorySegment buf, long offset, String what) {
        return positional(PREAD, "pread", fd, buf, offset, what);
    }

    /**
     * {@code pwrite(fd, buf, buf.byteSize(), offset)}, retried on {@code EINTR}.
     *
     * @return bytes written
     */
    public static long pwrite(int fd, MemorySegment buf, long offset, String what) {
        return positional(PWRITE, "pwrite", fd, buf, offset, what);
    }

    private static long positional(MethodHandle h, String name, int fd, MemorySegment buf, long offset, String what) {
        MemorySegment cs = CAPTURE.get();
        try {
            while (true) {
                // SAFETY: the kernel accesses exactly buf.byteSize() bytes at buf, a segment the caller keeps alive
                // across the call.
                long n = (long) h.invokeExact(cs, fd, buf, buf.byteSize(), offset);
                if (n >= 0) {
                    return n;
                }
                int e = errno(cs);
                if (e != Errno.EINTR) {
                    throw new SyscallException(name + "(" + what + ", " + buf.byteSize() + " bytes at 0x"
                            + Long.toHexString(offset) + ")", e);
                }
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code read(fd, buf, buf.byteSize())}, retried on {@code EINTR}.
     *
     * @return bytes read, or -1 on EAGAIN
     */
    public static long read(int fd, MemorySegment buf, String what) {
        return stream(READ, "read", fd, buf, what);
    }

    /**
     * {@code write(fd, buf, buf.byteSize())}, retried on {@code EINTR}.
     *
     * @return bytes written, or -1 on EAGAIN
     */
    public static long write(int fd, MemorySegment buf, String what) {
        return stream(WRITE, "write", fd, buf, what);
    }

    private static long stream(MethodHandle h, String name, int fd, MemorySegment buf, String what) {
        MemorySegment cs = CAPTURE.get();
        try {
            while (true) {
                // SAFETY: the kernel accesses exactly buf.byteSize() bytes at buf, a segment the caller keeps alive
                // across the call.
                long n = (long) h.invokeExact(cs, fd, buf, buf.byteSize());
                if (n >= 0) {
                    return n;
                }
                int e = errno(cs);
                if (e == Errno.EAGAIN) {
                    return -1;
                }
                if (e != Errno.EINTR) {
                    throw new SyscallException(name + "(" + what + ")", e);
                }
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code eventfd(initval, flags)}.
     *
     * @return the file descriptor
     */
    public static int eventfd(int initval, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: int arguments only; cs is the errno capture buffer the handle was built for.
            int fd = (int) EVENTFD.invokeExact(cs, initval, flags);
            if (fd < 0) {
                throw new SyscallException("eventfd", errno(cs));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code poll(fds, nfds, timeoutMillis)}; an {@code EINTR} returns 0 (as a timeout would), so callers loop.
     *
     * @param fds an array of {@code struct pollfd}
     * @return the number of ready descriptors
     */
    public static int poll(MemorySegment fds, long nfds, int timeoutMillis) {
        MemorySegment cs = CAPTURE.get();
        try {
            // SAFETY: the kernel reads and writes nfds struct pollfd at fds. Trusted, not checked (see the class
            // comment): the caller's segment holds that many.
            int n = (int) POLL.invokeExact(cs, fds, nfds, timeoutMillis);
            if (n < 0) {
                int e = errno(cs);
                if (e == Errno.EINTR) {
                    return 0;
                }
                throw new SyscallException("poll(" + nfds + " fds)", e);
            }
            return n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static long sysconf(int name, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            // SAFETY: an int argument only; cs is the errno capture buffer the handle was built for.
            long v = (long) SYSCONF.invokeExact(cs, name);
            if (v < 0) {
                throw new SyscallException(what, errno(cs));
            }
            return v;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@return {@code {soft, hard}} of {@code getrlimit(resource)}; {@link #RLIM_INFINITY} means unlimited} */
    public static long[] getrlimit(int resource) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE_LAYOUT);
            MemorySegment rl = a.allocate(dev.ferrum.sys.linux.rlimit.layout());
            // SAFETY: the kernel fills the struct rlimit at rl, allocated with its layout in the confined arena.
            if ((int) GETRLIMIT.invokeExact(cs, resource, rl) < 0) {
                throw new SyscallException("getrlimit(" + resource + ")", errno(cs));
            }
            return new long[] {dev.ferrum.sys.linux.rlimit.rlim_cur(rl), dev.ferrum.sys.linux.rlimit.rlim_max(rl)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
