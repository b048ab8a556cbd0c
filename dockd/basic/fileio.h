/* SPDX-License-Identifier: Apache-2.0 */
/* fileio.h: durable file operations: full reads and writes, atomic replacement
 * (tmp + fsync + rename + fsync dir), directory creation that survives power loss. */
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include "macro.h"

int write_all(int fd, const void *buf, size_t size);
int pwrite_all(int fd, const void *buf, size_t size, off_t offset);
/* Returns the number of bytes read (short only at end of file). */
ssize_t pread_all(int fd, void *buf, size_t size, off_t offset);

/* Read a whole file of at most max_size bytes; the result is NUL-terminated. */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);

/* Replace path with data, atomically and durably. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

int fsync_directory_of(const char *path);
int fsync_path(const char *path);

/* mkdir -p, fsyncing each parent in which a directory was created, and the
 * parent of a directory that exists already (a crash may have left its name
 * not yet durable). */
int mkdir_parents_durable(const char *path, mode_t mode);
int mkdir_p_durable(const char *path, mode_t mode);

/* Rename and fsync the directories involved. */
int rename_durable(const char *from, const char *to);
/* Rename only if `to` does not exist, in one step (renameat2 RENAME_NOREPLACE;
 * where the file system lacks it, link() then unlink(), which cannot replace
 * either), and fsync the directories. -EEXIST: `to` exists and is untouched. */
int rename_noreplace_durable(const char *from, const char *to);
int unlink_durable(const char *path);

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

char *path_join(const char *a, const char *b);
char *path_dirname(const char *path);
