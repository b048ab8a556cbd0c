/* SPDX-License-Identifier: Apache-2.0 */
/* fileio.c: see fileio.h. Everything here either completes durably or returns
 * a negative errno and leaves the previous durable state in place. */
#include <fcntl.h>
#include <stdio.h>
#include <libgen.h>
#include <sys/stat.h>

#include "failpoint.h"
#include "fileio.h"

/* All of buf, by write(2), or pwrite(2) at offset when offset >= 0. */
static int write_loop(int fd, const void *buf, size_t size, off_t offset) {
        const uint8_t *p = buf;

        while (size > 0) {
                ssize_t k = offset >= 0 ? pwrite(fd, p, size, offset) : write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                size -= (size_t) k;
                if (offset >= 0)
                        offset += k;
        }
        return 0;
}

int write_all(int fd, const void *buf, size_t size) {
        return write_loop(fd, buf, size, -1);
}

int pwrite_all(int fd, const void *buf, size_t size, off_t offset) {
        return write_loop(fd, buf, size, offset);
}

/* One read(2), or pread(2) at offset when offset >= 0; again when interrupted.
 * Returns the bytes read (0 at the end) or a negative errno. */
static ssize_t read_once(int fd, void *buf, size_t size, off_t offset) {
        for (;;) {
                ssize_t k = offset >= 0 ? pread(fd, buf, size, offset) : read(fd, buf, size);
                if (k >= 0)
                        return k;
                if (errno != EINTR)
                        return -errno;
        }
}

ssize_t pread_all(int fd, void *buf, size_t size, off_t offset) {
        uint8_t *p = buf;
        size_t done = 0;

        while (done < size) {
                ssize_t k = read_once(fd, p + done, size - done, offset + (off_t) done);
                if (k < 0)
                        return k;
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}

int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                if (allocated - size < 4096) {
                        size_t n = allocated ? allocated * 2 : 4096;
                        char *b;

                        if (n > max_size + 1)
                                n = max_size + 1;
                        if (n <= size)
                                return -EFBIG;
                        b = realloc(buf, n + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = n;
                }
                ssize_t k = read_once(fd, buf + size, allocated - size, -1);
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max_size)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        return read_full_fd(fd, max_size, ret, ret_size);
}

char *path_join(const char *a, const char *b) {
        char *r;

        if (asprintf(&r, "%s%s%s", a, endswith(a, "/") ? "" : "/", b) < 0)
                return NULL;
        return r;
}

char *path_dirname(const char *path) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return NULL;
        return strdup(dirname(copy));
}

int fsync_path(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        return fsync(fd) < 0 ? -errno : 0;
}

int fsync_directory_of(const char *path) {
        _cleanup_free_ char *dir = path_dirname(path);

        if (!dir)
                return -ENOMEM;
        return fsync_path(dir);
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, mode);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, size);
        if (r >= 0)
                r = fsync(fd) < 0 ? -errno : 0;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        failpoint_detail("atomic-before-rename", path);
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        failpoint_detail("atomic-after-rename", path);
        return fsync_directory_of(path);
}

/* After a rename from directory A to B: the new name is durable once B is
 * synced, the old one is gone for good once A is. */
static int sync_renamed(const char *a, const char *b, const char *to) {
        int r;

        failpoint_detail("rename-before-sync", to);
        r = fsync_path(b);
        if (r < 0)
                return r;
        return streq(a, b) ? 0 : fsync_path(a);
}

int rename_durable(const char *from, const char *to) {
        _cleanup_free_ char *a = path_dirname(from), *b = path_dirname(to);

        if (!a || !b)
                return -ENOMEM;
        if (rename(from, to) < 0)
                return -errno;
        return sync_renamed(a, b, to);
}

int rename_noreplace_durable(const char *from, const char *to) {
        _cleanup_free_ char *a = path_dirname(from), *b = path_dirname(to);

        if (!a || !b)
                return -ENOMEM;
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0) {
                if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                        return -errno;
                /* No RENAME_NOREPLACE here (some network file systems): link() never replaces. */
                if (link(from, to) < 0)
                        return -errno;
                (void) unlink(from);
        }
        return sync_renamed(a, b, to);
}

int unlink_durable(const char *path) {
        if (unlink(path) < 0)
                return -errno;
        return fsync_directory_of(path);
}

int mkdir_p_durable(const char *path, mode_t mode) {
        struct stat st;
        int r;

        if (stat(path, &st) >= 0)
                /* A crash between an earlier mkdir and the fsync of its parent
                 * leaves a directory whose name is not durable: sync it now.
                 * Its ancestors were synced before it was made. */
                return !S_ISDIR(st.st_mode) ? -ENOTDIR : fsync_directory_of(path);
        if (errno != ENOENT)
                return -errno;
        r = mkdir_parents_durable(path, mode);
        if (r < 0)
                return r;
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        failpoint_detail("mkdir-before-sync", path);
        return fsync_directory_of(path);
}

int mkdir_parents_durable(const char *path, mode_t mode) {
        _cleanup_free_ char *parent = path_dirname(path);

        if (!parent)
                return -ENOMEM;
        if (streq(parent, "/") || streq(parent, ".") || streq(parent, path))
                return 0;
        return mkdir_p_durable(parent, mode);
}
