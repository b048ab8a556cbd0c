/* ffs-zero.h: zero-length reads and writes on the FunctionFS files (a ZLP
 * that ends a bulk IN transfer, the status stage or stall of a control
 * request on ep0). The kernel's FUSE never passes them to the file system,
 * so the function's process runs under a seccomp filter that hands exactly
 * those syscalls (read or write of 0 bytes) to vdock as user notifications;
 * vdock answers them for the FunctionFS files and lets the kernel run the
 * others. */
#pragma once
#include <glib.h>

#include "ffs.h"

/* g_spawn child_setup: installs the filter, sends its listener over the
 * socket GINT_TO_POINTER(fd) and closes both; _exit(126) on failure. */
void ffs_zero_child_setup(gpointer user_data);
/* The listener sent by the child, or a negative errno. */
int ffs_zero_receive(int sock);
/* One notification on listener: a zero-length read or write of a file
 * dir/epN becomes an FfsIo on f (lock taken here). */
void ffs_zero_handle(int listener, const char *dir, Ffs *f, GRecMutex *lock);
