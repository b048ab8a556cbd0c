/* SPDX-License-Identifier: Apache-2.0 */
/* backend-file.c: central storage in a directory (local disk or NAS mount). A put
 * writes <root>/<key> under a temporary name, fsyncs it, renames it into place and
 * fsyncs the directory; then it drops the file from the page cache and reads it
 * back to hash it, because a NAS can acknowledge writes it did not keep. An
 * existing object with the same bytes is confirmed as is (idempotent); one with
 * other bytes is never overwritten: evidence is write-once. The rename into
 * place never replaces (RENAME_NOREPLACE, or link()), so a key another dock
 * writes between our look and our rename is kept too. Temporary files live in
 * <root>/.incoming/<dock>/ (same file system, so the rename is atomic), which is
 * emptied at start: a crash never leaves a stray file beside the evidence. The
 * blocking work runs in the worker pool. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "backend-file-check.h"
#include "backend-file.h"
#include "event-priority.h"
#include "failpoint.h"
#include "fileio.h"
#include "log.h"
#include "worker.h"

#define COPY_BUFFER (1024 * 1024)

typedef struct FileBackend {
        Backend backend;
        WorkerPool *pool;
        char *root;
        char *incoming;
        uint64_t n_tmp;
} FileBackend;

struct BackendPut {
        FileBackend *fb;
        WorkerJob *job;
        char *src;
        char *dst;
        char *tmp;
        uint64_t size;
        uint8_t sha256[32];
        uint64_t done_bytes;
        backend_put_done_t cb;
        void *userdata;
        bool cancelled;
        char message[256];
};

static int hash_fd(int fd, uint64_t expect_size, uint8_t ret[32], volatile bool *cancelled) {
        _cleanup_free_ uint8_t *buf = malloc(COPY_BUFFER);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint64_t total = 0;
        int r = 0;

        if (!buf || !ctx) {
                EVP_MD_CTX_free(ctx);
                return -ENOMEM;
        }
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        for (;;) {
                ssize_t n = pread_all(fd, buf, COPY_BUFFER, (off_t) total);
                if (n < 0) {
                        r = (int) n;
                        break;
                }
                if (n == 0)
                        break;
                EVP_DigestUpdate(ctx, buf, (size_t) n);
                total += (uint64_t) n;
                if (*cancelled) {
                        r = -ECANCELED;
                        break;
                }
        }
        if (r >= 0 && total != expect_size)
                r = -EIO;
        if (r >= 0)
                EVP_DigestFinal_ex(ctx, ret, NULL);
        EVP_MD_CTX_free(ctx);
        return r;
}

/* Read the object back from storage, not from our page cache, and compare. */
static int confirm(BackendPut *p, volatile bool *cancelled) {
        _cleanup_close_ int fd = open(p->dst, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        uint8_t got[32];
        int r;

        if (fd < 0)
                return -errno;
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        r = hash_fd(fd, p->size, got, cancelled);
        if (r == -EIO || (r >= 0 && memcmp(got, p->sha256, 32) != 0)) {
                snprintf(p->message, sizeof p->message, "%s holds other bytes than were written", p->dst);
                return -EIO;
        }
        return r;
}

static int copy_data(int in, int out, BackendPut *p, volatile bool *cancelled) {
        uint64_t off = 0;

        while (off < p->size) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, MIN(p->size - off, (uint64_t) 64 * MiB), 0);
                if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
                        /* Across file systems on old kernels: plain copy. */
                        _cleanup_free_ uint8_t *buf = malloc(COPY_BUFFER);
                        if (!buf)
                                return -ENOMEM;
                        n = pread_all(in, buf, (size_t) MIN(p->size - off, (uint64_t) COPY_BUFFER), (off_t) off);
                        if (n > 0) {
                                int r = pwrite_all(out, buf, (size_t) n, (off_t) off);
                                if (r < 0)
                                        return r;
                        }
                }
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;   /* the spool file is shorter than it should be */
                off += (uint64_t) n;
                __atomic_store_n(&p->done_bytes, off, __ATOMIC_RELAXED);
                if (*cancelled)
                        return -ECANCELED;
        }
        return 0;
}

/* The key exists already (found before the copy, or by the rename that would
 * not replace it): idempotent if its bytes are ours; other bytes are never
 * touched (-EEXIST: the uploader stores ours under the conflict key). */
static int existing(BackendPut *p, volatile bool *cancelled) {
        int r;

        /* A crash after the rename may have left its name (or bytes) not yet
         * durable: it only counts once they are. */
        r = fsync_path(p->dst);
        if (r >= 0)
                r = fsync_directory_of(p->dst);
        if (r < 0) {
                snprintf(p->message, sizeof p->message, "cannot sync %s: %s", p->dst, strerror(-r));
                return r;
        }
        r = confirm(p, cancelled);
        if (r == -EIO) {
                snprintf(p->message, sizeof p->message,
                         "%s exists with other content; evidence is never overwritten", p->dst);
                return -EEXIST;
        }
        return r;
}

static int put_work(void *userdata, volatile bool *cancelled) {
        BackendPut *p = userdata;
        const char *tmp = p->tmp;
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        struct stat st;
        int r;

        if (stat(p->dst, &st) >= 0)
                return existing(p, cancelled);   /* saves a copy; the rename below is what decides */
        in = open(p->src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0) {
                snprintf(p->message, sizeof p->message, "cannot open %s: %m", p->src);
                return errno == ENOENT ? -ENOENT : -errno;
        }
        r = mkdir_parents_durable(p->dst, 0755);
        if (r < 0) {
                snprintf(p->message, sizeof p->message, "cannot create the directory of %s: %s", p->dst, strerror(-r));
                return r;
        }
        out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
        if (out < 0) {
                snprintf(p->message, sizeof p->message, "cannot create %s: %m", tmp);
                return -errno;
        }
        r = copy_data(in, out, p, cancelled);
        if (r >= 0 && fsync(out) < 0)
                r = -errno;
        if (r < 0) {
                snprintf(p->message, sizeof p->message, "writing %s: %s", tmp, strerror(-r));
                (void) unlink(tmp);
                return r;
        }
        failpoint("file-before-rename");
        /* Another dock may have written the key since the stat() above: the
         * rename never replaces it. */
        r = rename_noreplace_durable(tmp, p->dst);
        if (r == -EEXIST) {
                (void) unlink(tmp);
                return existing(p, cancelled);
        }
        if (r < 0) {
                snprintf(p->message, sizeof p->message, "renaming to %s: %s", p->dst, strerror(-r));
                (void) unlink(tmp);
                return r;
        }
        failpoint("file-after-rename");
        return confirm(p, cancelled);
}

static void put_free(BackendPut *p) {
        free(p->src);
        free(p->dst);
        free(p->tmp);
        free(p);
}

static void put_done(int result, void *userdata) {
        BackendPut *p = userdata;

        if (p->cancelled) {
                put_free(p);
                return;
        }
        if (result < 0 && !p->message[0])
                snprintf(p->message, sizeof p->message, "%s", strerror(-result));
        p->cb(p, result, result < 0 ? p->message : NULL, p->userdata);
        put_free(p);
}

static int file_put(Backend *b, const BackendObject *o, backend_put_done_t cb, void *userdata, BackendPut **ret) {
        FileBackend *fb = (FileBackend *) b;
        BackendPut *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->fb = fb;
        p->src = strdup(o->path);
        p->dst = path_join(fb->root, o->key);
        if (asprintf(&p->tmp, "%s/%" PRIu64, fb->incoming, ++fb->n_tmp) < 0)
                p->tmp = NULL;
        p->size = o->size;
        memcpy(p->sha256, o->sha256, 32);
        p->cb = cb;
        p->userdata = userdata;
        if (!p->src || !p->dst || !p->tmp) {
                put_free(p);
                return -ENOMEM;
        }
        r = worker_pool_submit(fb->pool, put_work, put_done, p, &p->job);
        if (r < 0) {
                put_free(p);
                return r;
        }
        if (ret)
                *ret = p;
        return 0;
}

static void file_cancel(BackendPut *p) {
        /* The worker stops; put_done() then frees p without calling back. */
        p->cancelled = true;
        worker_job_cancel(p->fb->pool, p->job);
}

static uint64_t file_progress(BackendPut *p) {
        return __atomic_load_n(&p->done_bytes, __ATOMIC_RELAXED);
}

static void file_free(Backend *b) {
        FileBackend *fb = (FileBackend *) b;

        worker_pool_free(fb->pool);
        free(fb->root);
        free(fb->incoming);
        free(fb);
}

const char *backend_file_root(Backend *b) {
        return ((FileBackend *) b)->root;
}

WorkerPool *backend_file_pool(Backend *b) {
        return ((FileBackend *) b)->pool;
}

/* Small objects only (manifests): read at once, on the loop. */
static int file_get(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                    BackendRequest **ret) {
        FileBackend *fb = (FileBackend *) b;
        _cleanup_free_ char *path = path_join(fb->root, key), *data = NULL;
        size_t size = 0;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, max, &data, &size);
        *ret = NULL;
        cb(NULL, r < 0 ? r : 0, (const uint8_t *) data, size, userdata);
        return 0;
}

static const BackendOps file_ops = {
        .name = "file",
        .get = file_get,
        .put = file_put,
        .cancel = file_cancel,
        .progress = file_progress,
        .free = file_free,
        .stat = backend_file_stat,
        .request_cancel = backend_file_request_cancel,
};

/* Our temporary files from before a crash are garbage: remove them. */
static int incoming_reset(const char *dir) {
        DIR *d;
        struct dirent *e;
        int r = mkdir_p_durable(dir, 0755);

        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        (void) unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        return 0;
}

int backend_file_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error) {
        FileBackend *fb;
        int r;

        r = mkdir_p_durable(config->file_path, 0755);
        if (r < 0) {
                if (asprintf(ret_error, "cannot create [file] path=%s: %s", config->file_path, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        if (access(config->file_path, W_OK) < 0) {
                r = -errno;
                if (asprintf(ret_error, "[file] path=%s is not writable: %s", config->file_path, strerror(errno)) < 0)
                        *ret_error = NULL;
                return r;
        }
        fb = calloc(1, sizeof *fb);
        if (!fb)
                return -ENOMEM;
        fb->backend = (Backend) { .ops = &file_ops, .event = event, .config = config };
        fb->root = strdup(config->file_path);
        if (asprintf(&fb->incoming, "%s/.incoming/%s", config->file_path, config->dock_name) < 0)
                fb->incoming = NULL;
        r = fb->root && fb->incoming ? incoming_reset(fb->incoming) : -ENOMEM;
        if (r >= 0)
                r = worker_pool_new(event, config->storage_concurrency, &fb->pool);
        if (r >= 0)
                r = worker_pool_set_priority(fb->pool, EVENT_PRIORITY_UPLINK);
        if (r < 0) {
                if (asprintf(ret_error, "cannot prepare %s: %s", strna(fb->incoming), strerror(-r)) < 0)
                        *ret_error = NULL;
                free(fb->root);
                free(fb->incoming);
                free(fb);
                return r;
        }
        *ret = &fb->backend;
        return 0;
}
