/* SPDX-License-Identifier: Apache-2.0 */
/* custody-seal.c: sealing the custody log's current file into sealed/ (the
 * files that go to central storage) and keeping track of which sealed files
 * central storage holds (NAME.uploaded markers). */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "custody-files.h"
#include "failpoint.h"
#include "fileio.h"

void custody_log_set_seal_size(CustodyLog *l, uint64_t size) {
        if (l)
                l->seal_size = size;
}

/* Sealing keeps every state a reader can see whole (docs/custody-log.md):
 * 1. link(current.jsonl, sealed/NAME), then fsync sealed/: the commit point. Both
 *    names are now one file; open() finds the chain head at its end and, seeing the
 *    current file is the newest sealed one, finishes the seal;
 * 2. an empty current.jsonl.new, fsynced, renamed over current.jsonl, then fsync of
 *    the directory: current.jsonl is the old file or the new one, never missing. */
int custody_log_seal(CustodyLog *l, char **ret_path) {
        _cleanup_free_ char *name = NULL, *path = NULL;
        _cleanup_close_ int old = -EBADF;
        int r;

        if (!l || !ret_path)
                return -EINVAL;
        if (l->broken < 0)
                return l->broken;
        if (l->current_size == 0) {
                *ret_path = NULL;
                return 0;
        }
        if (asprintf(&name, "%s-%010" PRIu64 "-%010" PRIu64 ".jsonl", l->dock, l->current_first_seq,
                     l->next_seq - 1) < 0)
                return -ENOMEM;
        path = path_join(l->sealed_dir, name);
        if (!path)
                return -ENOMEM;
        if (linkat(l->dir_fd, CUSTODY_CURRENT, l->sealed_fd, name, 0) < 0)
                return -errno;

        /* From here on the file is sealed whatever happens; on error, reopen. */
        if (fsync(l->sealed_fd) < 0)
                return (l->broken = -errno);
        failpoint("custody-seal-after-link");
        old = TAKE_FD(l->fd);
        r = custody_current_replace(l);
        if (r < 0)
                return (l->broken = r);
        failpoint("custody-seal-after-rename");
        /* Read-only only now: while it was also current.jsonl, open() must append to it. */
        (void) fchmod(old, 0440);
        (void) fsync(old);
        {
                struct timespec ts;
                (void) clock_gettime(CLOCK_REALTIME, &ts);
                l->last_seal = (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

void custody_sealed_list_done(SealedList *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->entries[i].path);
        free(s->entries);
}

static int sealed_list_add(SealedList *s, uint64_t first, char *path) {
        if (!path)
                return -ENOMEM;
        if (s->n == s->allocated) {
                size_t a = s->allocated * 2 + 8;
                SealedEntry *e = reallocarray(s->entries, a, sizeof *e);

                if (!e) {
                        free(path);
                        return -ENOMEM;
                }
                s->entries = e;
                s->allocated = a;
        }
        s->entries[s->n++] = (SealedEntry) { first, path };
        return 0;
}

static int sealed_entry_compare(const void *a, const void *b) {
        const SealedEntry *x = a, *y = b;

        return x->first < y->first ? -1 : x->first > y->first;
}

int custody_sealed_list_read(const char *sealed_dir, bool skip_uploaded, SealedList *s) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        d = opendir(sealed_dir);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *marker = NULL;
                uint64_t first, last;

                if (!custody_sealed_name_parse(de->d_name, &first, &last))
                        continue;
                if (skip_uploaded) {
                        if (asprintf(&marker, "%s" CUSTODY_UPLOADED_SUFFIX, de->d_name) < 0)
                                return -ENOMEM;
                        if (faccessat(dirfd(d), marker, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                                continue;
                }
                r = sealed_list_add(s, first, path_join(sealed_dir, de->d_name));
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return -errno;
        if (s->n > 0)
                qsort(s->entries, s->n, sizeof *s->entries, sealed_entry_compare);
        return 0;
}

int custody_log_list_sealed(CustodyLog *l, char ***ret_paths) {
        _cleanup_(custody_sealed_list_done) SealedList s = {};
        char **paths;
        int r;

        if (!l || !ret_paths)
                return -EINVAL;
        r = custody_sealed_list_read(l->sealed_dir, true, &s);
        if (r < 0)
                return r;
        paths = calloc(s.n + 1, sizeof *paths);
        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < s.n; i++)
                paths[i] = TAKE_PTR(s.entries[i].path);
        *ret_paths = paths;
        return (int) MIN(s.n, (size_t) INT_MAX);
}

int custody_log_mark_uploaded(CustodyLog *l, const char *sealed_path) {
        _cleanup_free_ char *marker = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *name;
        uint64_t first, last;

        if (!l || isempty(sealed_path))
                return -EINVAL;
        name = strrchr(sealed_path, '/');
        name = name ? name + 1 : sealed_path;
        if (!custody_sealed_name_parse(name, &first, &last))
                return -EINVAL;
        if (faccessat(l->sealed_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (asprintf(&marker, "%s" CUSTODY_UPLOADED_SUFFIX, name) < 0)
                return -ENOMEM;
        fd = openat(l->sealed_fd, marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0 || fsync(l->sealed_fd) < 0)
                return -errno;
        return 0;
}
