/* ffs-mount.h: an Ffs served as files, like a mounted functionfs: a FUSE
 * file system with ep0 and, once the function wrote its descriptors and
 * strings, ep1..N. One thread of its own serves the FUSE requests and the
 * zero-length I/O of the function's process (ffs-zero.h). */
#pragma once
#include <glib.h>

#include "ffs.h"

typedef struct FfsMount FfsMount;

/* Mounts at dir (which must exist); requests wait until ffs_mount_start(). */
FfsMount *ffs_mount_new(Ffs *f, GRecMutex *lock, const char *dir, GError **error);
/* Serve, and answer the zero-length I/O notified on listener (taken; -1: none). */
void ffs_mount_start(FfsMount *m, int listener);
/* Stop serving (the thread ends); the mount stays, so that ios still in
 * the Ffs can be ended (ffs_free) before ffs_mount_free() unmounts. */
void ffs_mount_stop(FfsMount *m);
void ffs_mount_free(FfsMount *m);
/* Call from the Ffs wake hook (lock held): ep0's pollers are told. */
void ffs_mount_wake(FfsMount *m);
