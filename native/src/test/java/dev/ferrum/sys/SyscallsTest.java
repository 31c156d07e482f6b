package dev.ferrum.sys;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Smoke tests of the generated bindings through the errno-capturing wrappers. */
class SyscallsTest {

    @Test
    void openReadAndCloseDevNull() {
        int fd = Syscalls.open("/dev/null", Syscalls.O_RDONLY | Syscalls.O_CLOEXEC);
        assertTrue(fd >= 0);
        try (Arena a = Arena.ofConfined()) {
            assertEquals(0, Syscalls.read(fd, a.allocate(16), "/dev/null"), "/dev/null reads as end of file");
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void openOfMissingFileNamesTheCallAndENOENT() {
        SyscallException e = assertThrows(SyscallException.class,
                () -> Syscalls.open("/nonexistent/ferrum", Syscalls.O_RDONLY));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("ENOENT", e.errnoName());
        assertTrue(e.getMessage().startsWith("open(/nonexistent/ferrum) failed: ENOENT (No such file or directory)"),
                e.getMessage());
    }

    @Test
    void mmapAnonymousPageIsWritableAndUnmaps() {
        long page = Syscalls.pageSize();
        assertTrue(page >= 4096 && Long.bitCount(page) == 1, "page size " + page);
        long addr = Syscalls.mmap(page, Syscalls.PROT_READ | Syscalls.PROT_WRITE,
                Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS, -1, 0, "anonymous");
        assertEquals(0, addr % page, "mmap returns page-aligned memory");
        // SAFETY (test): the mapping is page bytes long and stays mapped until munmap below.
        MemorySegment seg = MemorySegment.ofAddress(addr).reinterpret(page);
        assertEquals(0L, seg.get(ValueLayout.JAVA_LONG, 0), "anonymous memory is zero-filled");
        seg.set(ValueLayout.JAVA_LONG, page - 8, 0x1234_5678_9abc_def0L);
        assertEquals(0x1234_5678_9abc_def0L, seg.get(ValueLayout.JAVA_LONG, page - 8));
        Syscalls.munmap(addr, page);
    }

    @Test
    void ioctlOnBadFdReportsEBADF() {
        SyscallException e = assertThrows(SyscallException.class,
                () -> Syscalls.ioctl(-1, VfioIoctl.VFIO_GET_API_VERSION, 0L, "fd -1"));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().contains("ioctl(VFIO_GET_API_VERSION) on fd -1 failed: EBADF (Bad file descriptor)"),
                e.getMessage());
    }

    @Test
    void ioctlWithPointerArgumentOnBadFdReportsEBADF() {
        try (Arena a = Arena.ofConfined()) {
            SyscallException e = assertThrows(SyscallException.class,
                    () -> Syscalls.ioctl(-1, VfioIoctl.VFIO_GROUP_GET_STATUS, a.allocate(8), "fd -1"));
            assertEquals("EBADF", e.errnoName());
        }
    }

    @Test
    void munmapOfUnalignedAddressIsEINVAL() {
        SyscallException e = assertThrows(SyscallException.class, () -> Syscalls.munmap(1, 4096));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("Invalid argument"), e.getMessage());
    }

    @Test
    void eventfdCountsWrites() {
        int fd = Syscalls.eventfd(0, Syscalls.EFD_CLOEXEC | Syscalls.EFD_NONBLOCK);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_LONG);
            assertEquals(-1, Syscalls.read(fd, v, "eventfd"), "empty non-blocking eventfd reports EAGAIN as -1");
            v.set(ValueLayout.JAVA_LONG, 0, 3);
            assertEquals(8, Syscalls.write(fd, v, "eventfd"));
            assertEquals(8, Syscalls.write(fd, v, "eventfd"));
            v.set(ValueLayout.JAVA_LONG, 0, 0);
            assertEquals(8, Syscalls.read(fd, v, "eventfd"));
            assertEquals(6, v.get(ValueLayout.JAVA_LONG, 0), "eventfd accumulates the counter until read");
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void getrlimitMemlockAnswers() {
        long[] rl = Syscalls.getrlimit(Syscalls.RLIMIT_MEMLOCK);
        assertEquals(2, rl.length);
        assertTrue(rl[0] == Syscalls.RLIM_INFINITY || rl[0] >= 0);
    }

    @Test
    void errnoNamesComeFromLibc() {
        assertEquals("EBADF", Errno.name(Errno.EBADF));
        assertEquals("Bad file descriptor", Errno.description(Errno.EBADF));
        assertEquals("errno 100000", Errno.name(100000));
    }
}
