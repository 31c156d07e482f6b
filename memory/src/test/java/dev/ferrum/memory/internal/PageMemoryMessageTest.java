package dev.ferrum.memory.internal;

import dev.ferrum.sys.Errno;
import dev.ferrum.sys.SyscallException;
import dev.ferrum.sys.Syscalls;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The mlock failure message names the limit, that it is cumulative, and every way to raise it. */
class PageMemoryMessageTest {

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "'" + p + "' missing from: " + message);
        }
    }

    @Test
    void aLimitTooLowIsNamedWithEveryWayToRaiseIt() {
        String m = PageMemory.memlockMessage(2L << 20, 8L << 20, new SyscallException("mlock", Errno.ENOMEM));
        assertMentions(m, "cannot lock 2048 KiB of DMA memory in RAM", "RLIMIT_MEMLOCK is 8192 KiB",
                "all the memory this process has locked", "ulimit -l unlimited", "ulimit -H -l",
                "/etc/security/limits.conf", "LimitMEMLOCK=infinity", "CAP_IPC_LOCK", "twice",
                "docs/vfio-box.md");
        assertMentions(PageMemory.memlockMessage(4096, 65536, new SyscallException("mlock", Errno.EAGAIN)),
                "RLIMIT_MEMLOCK is 64 KiB");
    }

    @Test
    void anUnlimitedLimitIsNotBlamed() {
        String m = PageMemory.memlockMessage(4096, Syscalls.RLIM_INFINITY, new SyscallException("mlock", Errno.ENOMEM));
        assertMentions(m, "RLIMIT_MEMLOCK is unlimited", "out of memory");
        assertFalse(m.contains("ulimit"), m);
    }

    @Test
    void otherErrorsAreReportedAsTheyAre() {
        String m = PageMemory.memlockMessage(4096, 65536, new SyscallException("mlock", Errno.EINVAL));
        assertMentions(m, "cannot lock 4 KiB of DMA memory in RAM", "EINVAL");
        assertFalse(m.contains("RLIMIT_MEMLOCK"), m);
    }
}
