/* SPDX-License-Identifier: Apache-2.0 */
/* backend-file-check.c: the file backend's read side, for reconciliation: an
 * object is its file; its size is the file's, and its bytes are read back and
 * hashed in the backend's worker pool (the loop never reads them). A file has
 * no checksum of its own to compare, so every check reads everything back:
 * README "Reconciliation" gives the cost. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend-file-check.h"
#include "filehash.h"
#include "fileio.h"

struct BackendRequest {
        Backend *backend;
        int fd;
        FileHash hash;
        WorkerJob *job;
        sd_event_source *defer;    /* answers "not found" from the loop, never from inside stat() */
        bool cancelled;
        uint64_t size;
        backend_stat_done_t cb;
        void *userdata;
};

static void request_free(BackendRequest *q) {
        sd_event_source_disable_unref(q->defer);
        safe_close(q->fd);
        free(q);
}

void backend_file_request_cancel(BackendRequest *q) {
        if (!q)
                return;
        if (!q->job)
                return request_free(q);
        /* The hash job's done() still runs and frees it. */
        q->cancelled = true;
        worker_job_cancel(backend_file_pool(q->backend), q->job);
}

static int on_not_found(sd_event_source *s, void *userdata) {
        BackendRequest *q = userdata;

        q->cb(q, -ENOENT, NULL, "not in central storage (no such file)", q->userdata);
        request_free(q);
        return 0;
}

static void on_hashed(int result, void *userdata) {
        BackendRequest *q = userdata;
        BackendStat st = { .size = q->size, .have_sha256 = true };

        q->job = NULL;
        if (q->cancelled)
                return request_free(q);
        memcpy(st.sha256, q->hash.sha256, 32);
        if (result == -ENODATA)   /* shrank while read: not the object it was */
                st.have_sha256 = false, st.size = 0;
        if (result < 0 && result != -ENODATA)
                q->cb(q, result, NULL, "the file could not be read back", q->userdata);
        else
                q->cb(q, 0, &st, NULL, q->userdata);
        request_free(q);
}

int backend_file_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                      BackendRequest **ret) {
        _cleanup_free_ char *path = path_join(backend_file_root(b), spec->key);
        BackendRequest *q;
        struct stat s;
        int r;

        if (!path)
                return -ENOMEM;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (BackendRequest) { .backend = b, .cb = cb, .userdata = userdata };
        q->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        r = q->fd < 0 || fstat(q->fd, &s) < 0 ? -errno : S_ISREG(s.st_mode) ? 0 : -ENOENT;
        if (r == -ENOENT || r == -ELOOP) {   /* gone, or something else in its place */
                r = sd_event_add_defer(b->event, &q->defer, on_not_found, q);
                if (r < 0) {
                        request_free(q);
                        return r;
                }
                *ret = q;
                return 0;
        }
        if (r < 0) {
                request_free(q);
                return r;
        }
        q->size = (uint64_t) s.st_size;
        q->hash = (FileHash) { .fd = q->fd, .offset = 0, .length = q->size };
        r = filehash_submit(backend_file_pool(b), &q->hash, on_hashed, q, &q->job);
        if (r < 0) {
                request_free(q);
                return r;
        }
        *ret = q;
        return 0;
}
