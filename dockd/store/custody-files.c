/* SPDX-License-Identifier: Apache-2.0 */
/* custody-files.c: see custody-files.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "custody-files.h"
#include "failpoint.h"
#include "fileio.h"

static int pread_exact(int fd, off_t offset, size_t size, char **ret) {
        _cleanup_free_ char *buf = malloc(size + 1);
        ssize_t n;

        if (!buf)
                return -ENOMEM;
        n = pread_all(fd, buf, size, offset);
        if (n < 0)
                return (int) n;
        if ((size_t) n != size)
                return -EIO;
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The last newline-terminated line of buf[0..end) (buf[end-1] is '\n'). If the
 * line may begin before the window (window_start > 0) it is too long. */
static int window_last_line(const char *buf, size_t end, off_t window_start, size_t *ret_start) {
        const char *q = memrchr(buf, '\n', end - 1);

        if (!q && window_start > 0)
                return -EBADMSG;
        *ret_start = q ? (size_t) (q - buf) + 1 : 0;
        return 0;
}

/* Seq and SHA-256 of the last line of a file that must end in a complete record. */
static int file_last_record(int fd, uint64_t *ret_seq, char ret_hash[static 65]) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t win, start;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size == 0)
                return -ENODATA;
        win = (size_t) MIN(st.st_size, (off_t) CUSTODY_LINE_MAX + 1);
        r = pread_exact(fd, st.st_size - (off_t) win, win, &buf);
        if (r < 0)
                return r;
        if (buf[win - 1] != '\n')
                return -EBADMSG;
        r = window_last_line(buf, win, st.st_size - (off_t) win, &start);
        if (r < 0)
                return r;
        r = custody_line_parse_seq(buf + start, win - 1 - start, ret_seq);
        if (r < 0)
                return r;
        return custody_sha256_hex(buf + start, win - 1 - start, ret_hash);
}

int custody_file_first_seq(int fd, off_t size, uint64_t *ret_seq) {
        _cleanup_free_ char *buf = NULL;
        size_t win = (size_t) MIN(size, (off_t) CUSTODY_LINE_MAX + 1);
        const char *nl;
        int r;

        r = pread_exact(fd, 0, win, &buf);
        if (r < 0)
                return r;
        nl = memchr(buf, '\n', win);
        if (!nl)
                return -EBADMSG;
        return custody_line_parse_seq(buf, (size_t) (nl - buf), ret_seq);
}

/* The newest sealed file gives the chain head when the current file is empty. */
static int sealed_newest(CustodyLog *l, bool *ret_found, uint64_t *ret_last, char ret_hash[static 65],
                         struct stat *ret_st) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *newest = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t best = 0, seq;
        struct dirent *de;
        int r;

        d = opendir(l->sealed_dir);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                uint64_t first, last;

                if (!custody_sealed_name_parse(de->d_name, &first, &last) || (newest && last <= best))
                        continue;
                free(newest);
                newest = strdup(de->d_name);
                if (!newest)
                        return -ENOMEM;
                best = last;
        }
        if (errno != 0)
                return -errno;
        if (!newest) {
                *ret_found = false;
                return 0;
        }
        fd = openat(l->sealed_fd, newest, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        r = file_last_record(fd, &seq, ret_hash);
        if (r < 0)
                return r == -ENODATA ? -EBADMSG : r;
        if (seq != best)
                return -EBADMSG;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        *ret_found = true;
        *ret_last = best;
        return 0;
}

static int torn_bytes_save(CustodyLog *l, const char *data, size_t size, char **ret_name) {
        _cleanup_free_ char *name = NULL, *path = NULL;
        struct timespec ts;
        int r;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        if (asprintf(&name, "torn-%" PRIu64 ".bin",
                     (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC) < 0)
                return -ENOMEM;
        path = path_join(l->dir, name);
        if (!path)
                return -ENOMEM;
        r = write_file_atomic(path, data, size, 0640);
        if (r < 0)
                return r;
        *ret_name = TAKE_PTR(name);
        return 0;
}

/* Cut an unterminated tail (what a crash in the middle of a write leaves) and, if
 * the last terminated line is not a record either, that line. The bytes cut are
 * kept in dir/torn-USEC.bin. Sets next_seq/prev when the file has records. */
static int current_recover(CustodyLog *l, size_t *ret_torn, char **ret_torn_file) {
        _cleanup_free_ char *buf = NULL, *torn_file = NULL;
        size_t win, end, start = 0;
        off_t size, wstart, keep;
        struct stat st;
        uint64_t seq = 0;
        bool found = false;
        int r;

        if (fstat(l->fd, &st) < 0)
                return -errno;
        size = st.st_size;
        *ret_torn = 0;
        if (size == 0)
                return 0;
        win = (size_t) MIN(size, 3 * ((off_t) CUSTODY_LINE_MAX + 1));
        wstart = size - (off_t) win;
        r = pread_exact(l->fd, wstart, win, &buf);
        if (r < 0)
                return r;
        end = win;
        if (buf[end - 1] != '\n') {
                const char *nl = memrchr(buf, '\n', end);

                if (!nl && wstart > 0)
                        return -EBADMSG;
                end = nl ? (size_t) (nl - buf) + 1 : 0;
        }
        for (unsigned bad = 0; end > 0 && !found; bad++) {
                r = window_last_line(buf, end, wstart, &start);
                if (r < 0)
                        return r;
                if (custody_line_parse_seq(buf + start, end - 1 - start, &seq) >= 0)
                        found = true;
                else if (bad > 0)
                        return -EBADMSG;   /* more than the last line is damaged: not a crash */
                else
                        end = start;
        }
        keep = wstart + (off_t) end;
        if (keep < size) {
                r = torn_bytes_save(l, buf + end, win - end, &torn_file);
                if (r < 0)
                        return r;
                if (ftruncate(l->fd, keep) < 0 || fsync(l->fd) < 0)
                        return -errno;
        }
        l->current_size = keep;
        if (found) {
                r = custody_sha256_hex(buf + start, end - 1 - start, l->prev);
                if (r < 0)
                        return r;
                l->next_seq = seq + 1;
                r = custody_file_first_seq(l->fd, keep, &l->current_first_seq);
                if (r < 0)
                        return r;
                if (l->current_first_seq > seq)
                        return -EBADMSG;
        }
        *ret_torn = (size_t) (size - keep);
        *ret_torn_file = TAKE_PTR(torn_file);
        return 0;
}

int custody_current_open(CustodyLog *l) {
        l->fd = openat(l->dir_fd, CUSTODY_CURRENT, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (l->fd >= 0)
                /* A crash may have left an appended record not yet synced:
                 * durable before anything is decided from it (custody_log_find()). */
                return fsync(l->fd) < 0 ? -errno : 0;
        if (errno != ENOENT)
                return -errno;
        l->fd = openat(l->dir_fd, CUSTODY_CURRENT, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       0640);
        if (l->fd < 0)
                return -errno;
        return fsync(l->dir_fd) < 0 ? -errno : 0;
}

int custody_current_replace(CustodyLog *l) {
        _cleanup_close_ int fd = -EBADF;

        if (unlinkat(l->dir_fd, CUSTODY_CURRENT_NEW, 0) < 0 && errno != ENOENT)
                return -errno;
        fd = openat(l->dir_fd, CUSTODY_CURRENT_NEW, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    0640);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        failpoint("custody-seal-after-create");
        if (renameat(l->dir_fd, CUSTODY_CURRENT_NEW, l->dir_fd, CUSTODY_CURRENT) < 0)
                return -errno;
        failpoint("custody-seal-rename-before-sync");
        if (fsync(l->dir_fd) < 0)
                return -errno;
        l->fd = TAKE_FD(fd);
        l->current_size = 0;
        return 0;
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int custody_chain_recover(CustodyLog *l, size_t *ret_torn, char **ret_torn_file) {
        struct stat sealed_st, current_st;
        char sealed_hash[65];
        uint64_t sealed_last = 0;
        bool sealed = false;
        int r;

        r = sealed_newest(l, &sealed, &sealed_last, sealed_hash, &sealed_st);
        if (r < 0)
                return r;
        r = custody_current_open(l);
        if (r < 0)
                return r;
        if (fstat(l->fd, &current_st) < 0)
                return -errno;
        if (sealed && same_file(&current_st, &sealed_st)) {
                /* A seal stopped after its commit point (the link): finish it. */
                l->fd = safe_close(l->fd);
                r = custody_current_replace(l);
                if (r < 0)
                        return r;
        } else if (unlinkat(l->dir_fd, CUSTODY_CURRENT_NEW, 0) < 0 && errno != ENOENT)
                return -errno;
        r = current_recover(l, ret_torn, ret_torn_file);
        if (r < 0)
                return r;
        if (l->current_size > 0) {
                /* A sealed file and the current one must join up. */
                if (sealed && l->current_first_seq != sealed_last + 1)
                        return -EBADMSG;
                return 0;
        }
        if (sealed) {
                l->next_seq = sealed_last + 1;
                memcpy(l->prev, sealed_hash, sizeof l->prev);
        } else {
                l->next_seq = 0;
                memcpy(l->prev, ZERO_HASH, sizeof l->prev);
        }
        return 0;
}

int custody_dir_open_locked(const char *path, int *ret_fd) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
