/*
 * ferrum_linux.h: the libc and Linux VFIO surface that Ferrum binds with jextract.
 *
 * This header only gathers system headers; jextract filters what it generates with the
 * --include-* lists in native/regen-bindings.sh, so the committed bindings stay small.
 * Nothing here is Ferrum policy: see dev.ferrum.sys.Syscalls for errno capture and the
 * hand-computed ioctl request numbers (function-like macros such as _IO are not translated).
 */
#ifndef FERRUM_LINUX_H
#define FERRUM_LINUX_H

#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/vfio.h>

#endif /* FERRUM_LINUX_H */
