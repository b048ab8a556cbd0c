/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus.c: central storage behind a tus 1.0 server (core protocol with the
 * creation and termination extensions; tus.io/protocols/resumable-upload).
 *
 * POST creates the upload (Upload-Length, Upload-Metadata with the key, the
 * SHA-256, the content type and the retention), its URL goes to the put's state
 * file, PATCHes send it in [tus] chunk_size pieces, each with Upload-Checksum
 * (checked by servers with the checksum extension, ignored by the others). The
 * offset always comes from the server: a PATCH cut short may have kept fewer
 * bytes than were sent, so after any failure HEAD says where to go on.
 *
 * Confirmation: HEAD must report Upload-Offset equal to Upload-Length equal to
 * the object's size, and a GET of the upload (servers that allow it, such as
 * tusd and @tus/server) must hash to the manifest's SHA-256. A server that
 * refuses the GET is trusted only if it announces the checksum extension with
 * sha256 (405/501: it has no GET; a 404 says the upload is gone, and is no
 * confirmation). Otherwise, and on any mismatch, nothing is confirmed; a
 * mismatching upload of ours is terminated and the next attempt starts the
 * object over.
 *
 * Write-once: an upload is ours only when our POST created it fresh, which a
 * HEAD right after the creation shows (offset 0): a deployment that names
 * uploads by key answers the creation of an existing key with the upload that
 * holds it. One that is not ours is never written into nor terminated: if it
 * holds our bytes it confirms the object, else the key holds other bytes
 * (-EEXIST). Upload URLs on another origin than [tus] endpoint are refused:
 * neither the credentials nor evidence go there. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "backend-tus-check.h"
#include "backend-tus.h"
#include "failpoint.h"
#include "filehash.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "parse-util.h"
#include "tus-answer.h"

#define TUS_VERSION "1.0.0"
#define TUS_STATE_MAGIC "dockd-tus-upload 1"
#define TUS_MAX_CHECKSUM_FAILURES 3
#define TUS_MAX_RESTARTS 3

typedef struct TusBackend {
        RemoteBackend remote;      /* credentials: extra header lines, optional */
        BackendOps ops;            /* tus_ops, with get where uploads are named by key */
        char *endpoint;
        char *origin;              /* scheme://host[:port], for absolute-path Locations */
} TusBackend;

typedef enum TusPhase {
        TUS_HEAD,                  /* where does the server stand? */
        TUS_CREATE,
        TUS_CREATED_HEAD,          /* is the upload we were given fresh? */
        TUS_HASH,                  /* hashing the next chunk */
        TUS_PATCH,
        TUS_FINAL_HEAD,
        TUS_READBACK,
        TUS_OPTIONS,
        TUS_TERMINATE,
} TusPhase;

struct BackendPut {
        RemotePut base;
        TusBackend *tus;
        TusPhase phase;
        char *upload_url;
        uint64_t offset;           /* what the server holds */
        uint64_t chunk_length;
        FileHash hash;
        HttpRequest *req;
        unsigned checksum_failures;
        unsigned restarts;
        bool own;                  /* our creation made it fresh: we may write and terminate it */
        int terminate_error;       /* the failure to report once the termination is done */
};

static void do_head(BackendPut *p, TusPhase phase);
static void do_create(BackendPut *p);
static void next_chunk(BackendPut *p);

/* ---- state ---- */

static int state_save(BackendPut *p) {
        _cleanup_free_ char *extra = NULL;

        if (asprintf(&extra, "url=%s\n", p->upload_url) < 0)
                return -ENOMEM;
        return remote_put_state_save(&p->base, TUS_STATE_MAGIC, extra);
}

typedef struct TusState {
        char *key;
        uint64_t size;
        char *url;
} TusState;

static void state_line(RemotePut *rp, const char *name, const char *value, void *userdata) {
        TusState *st = userdata;

        if (streq(name, "key")) {
                free(st->key);
                st->key = strdup(value);
        } else if (streq(name, "size"))
                st->size = strtoull(value, NULL, 10);
        else if (streq(name, "url")) {
                free(st->url);
                st->url = strdup(value);
        }
}

char *tus_state_read(RemotePut *p) {
        TusState st = { .size = UINT64_MAX };
        char *url = NULL;

        if (remote_put_state_load(p, TUS_STATE_MAGIC, 64 * KiB, state_line, &st) >= 0 &&
            streq_ptr(st.key, p->key) && st.size == p->size && !isempty(st.url))
                url = TAKE_PTR(st.url);
        free(st.key);
        free(st.url);
        return url;
}

static void state_load(BackendPut *p) {
        p->upload_url = tus_state_read(&p->base);
}

/* ---- finishing ---- */

static void put_stop(RemotePut *rp) {
        BackendPut *p = (BackendPut *) rp;

        p->req = http_request_free(p->req);
}

static void put_done(RemotePut *rp) {
        BackendPut *p = (BackendPut *) rp;

        put_stop(rp);
        free(p->upload_url);
}

static void put_confirmed(RemotePut *rp) {
        BackendPut *p = (BackendPut *) rp;

        log_debug("%s: confirmed by the tus server (%" PRIu64 " bytes at %s).", p->base.key, p->base.size,
                  p->upload_url);
}

static const RemotePutOps put_ops = {
        .stop = put_stop,
        .done = put_done,
        .confirmed = put_confirmed,
};

_printf_(3, 4) static void finish(BackendPut *p, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        remote_put_finishv(&p->base, error, fmt, ap);
        va_end(ap);
}

/* What a refusal means for the uploader. */
static int status_error(long status) {
        if (status == 401 || status == 403)
                return -EACCES;
        if (status == 503 || status == 429)
                return -EBUSY;
        if (status >= 500)
                return -EREMOTEIO;
        /* Refused as such (400, 405, 413 beyond Tus-Max-Size, …): the same request
         * will be refused again. 404/410 (gone), 408, 409 (offset), 412 (version)
         * and 460 (checksum) can pass. */
        if (status >= 400 && status != 404 && status != 408 && status != 409 && status != 410 && status != 412 &&
            status != 460)
                return -EPERM;
        return -EPROTO;
}

static void describe(HttpRequest *r, char *buf, size_t size) {
        size_t n;
        const char *body = http_request_body(r, &n);

        snprintf(buf, size, "HTTP %ld%s%.*s", http_request_status(r), n > 0 ? ": " : "", (int) MIN(n, (size_t) 120),
                 body);
        for (char *s = buf; *s; s++)
                if ((unsigned char) *s < 0x20)
                        *s = ' ';
}

static int new_request(BackendPut *p, const char *method, const char *url, HttpRequest **ret) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        if (!url)
                return -ENOMEM;
        k = http_request_new(p->tus->remote.http, method, url, &r);
        if (k >= 0 && !streq(method, "GET") && !streq(method, "OPTIONS"))
                k = http_request_add_header(r, "Tus-Resumable: " TUS_VERSION);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

static int start(BackendPut *p, HttpRequest **r, http_done_t done, TusPhase phase) {
        int k = http_request_start(*r, done, p);

        if (k < 0)
                return k;
        p->req = TAKE_PTR(*r);
        p->phase = phase;
        return 0;
}

/* ---- termination: a mismatching upload is not resumed ---- */

static bool terminated(long status) {
        return status == 204 || status == 200 || status == 404 || status == 410;
}

static void on_terminate(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;

        p->req = NULL;
        /* 204 terminated, 404/410 gone already; anything else: the server's expiry deals with it. */
        if (error < 0 || !terminated(http_request_status(r)))
                log_info("%s: cannot terminate the upload %s (%s).", p->base.key, p->upload_url,
                         error < 0 ? strna(http_request_error(r)) : "refused");
        p->upload_url = mfree(p->upload_url);
        remote_put_state_remove(&p->base);
        finish(p, p->terminate_error, NULL);
}

/* Fail with error (message already in p->base.message), dropping the upload
 * if it is ours. One that is not holds the key for someone else: other bytes
 * there are a conflict (-EEXIST), and the upload is left as it is. */
static void terminate_and_fail(BackendPut *p, int error) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        if (!p->own) {
                p->upload_url = mfree(p->upload_url);
                return finish(p, error == -EIO ? -EEXIST : error, NULL);
        }
        p->terminate_error = error;
        k = new_request(p, "DELETE", p->upload_url, &r);
        if (k >= 0)
                k = start(p, &r, on_terminate, TUS_TERMINATE);
        if (k < 0) {
                p->upload_url = mfree(p->upload_url);
                remote_put_state_remove(&p->base);
                finish(p, error, NULL);
        }
}

/* ---- confirmation ---- */

static void on_options(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        const char *ext = error < 0 ? NULL : http_request_header(r, "Tus-Extension");
        const char *alg = error < 0 ? NULL : http_request_header(r, "Tus-Checksum-Algorithm");

        p->req = NULL;
        if (error < 0)
                return finish(p, error, "OPTIONS %s: %s", p->tus->endpoint, strna(http_request_error(r)));
        /* Without a read-back, only a server that checked every chunk's SHA-256 proves the bytes. */
        if (tus_announces_sha256(ext, alg))
                return finish(p, 0, NULL);
        finish(p, -EIO, "%s: the tus server neither returns uploads (GET) nor checks SHA-256 checksums; "
               "it cannot confirm that it holds these bytes", p->base.key);
}

static void on_readback(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        uint8_t got[EVP_MAX_MD_SIZE];
        uint64_t n = 0;
        char why[256], a[65], b[65];

        p->req = NULL;
        if (error < 0)
                return finish(p, error, "GET %s (read-back): %s", p->upload_url, strna(http_request_error(r)));
        if (status == 401 || status == 403) {
                describe(r, why, sizeof why);
                return finish(p, -EACCES, "GET %s (read-back): %s", p->upload_url, why);
        }
        if (status == 405 || status == 501) {
                _cleanup_(http_request_freep) HttpRequest *o = NULL;
                int k = new_request(p, "OPTIONS", p->tus->endpoint, &o);
                if (k >= 0)
                        k = start(p, &o, on_options, TUS_OPTIONS);
                if (k < 0)
                        finish(p, k, "OPTIONS %s: cannot start the request: %s", p->tus->endpoint, strerror(-k));
                return;
        }
        if (status != 200) {
                describe(r, why, sizeof why);
                return finish(p, status_error(status), "GET %s (read-back): %s", p->upload_url, why);
        }
        if (http_request_body_digest(r, got, NULL, &n) < 0)
                return finish(p, -ENOMEM, "out of memory");
        if (n != p->base.size || memcmp(got, p->base.sha256, 32) != 0) {
                snprintf(p->base.message, sizeof p->base.message,
                         "%s: the tus server returns %" PRIu64 " bytes with SHA-256 %s, not %" PRIu64 " bytes with %s",
                         p->base.key, n, hexmem(got, 32, a), p->base.size, hexmem(p->base.sha256, 32, b));
                return terminate_and_fail(p, -EIO);
        }
        finish(p, 0, NULL);
}

static void do_readback(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        k = new_request(p, "GET", p->upload_url, &r);
        if (k >= 0)
                k = http_request_hash_body(r, EVP_sha256());
        if (k >= 0)
                k = start(p, &r, on_readback, TUS_READBACK);
        if (k < 0)
                finish(p, k, "GET %s: cannot start the request: %s", p->upload_url, strerror(-k));
}

/* ---- HEAD: resume point, and the final offset ---- */

/* The HEAD after our creation: a fresh upload (offset 0, our length) is ours;
 * any other holds the key already. */
static void on_created_head(BackendPut *p, const char *off, const char *len) {
        uint64_t o, l;
        int k;

        if (off && len && parse_uint64(off, &o) >= 0 && parse_uint64(len, &l) >= 0 && o == 0 && l == p->base.size) {
                p->own = true;
                k = state_save(p);
                if (k < 0)
                        return finish(p, k, "%s: cannot save the resume state %s: %s", p->base.key,
                                      p->base.state_path, strerror(-k));
                log_debug("%s: tus upload %s created.", p->base.key, p->upload_url);
                failpoint_detail("tus-after-create", p->base.key);
                p->offset = 0;
                if (p->base.size == 0)
                        return do_head(p, TUS_FINAL_HEAD);
                return next_chunk(p);
        }
        if (off && len && parse_uint64(off, &o) >= 0 && parse_uint64(len, &l) >= 0 && o == l && l == p->base.size) {
                /* Complete already: ours from an earlier run, or other bytes. The read-back says. */
                log_info("%s: the tus server already holds an upload of this key (%s); reading it back.",
                         p->base.key, p->upload_url);
                p->offset = o;
                return do_readback(p);
        }
        finish(p, -EEXIST, "%s: the tus server answered its creation with an upload that is not fresh (%s, "
               "offset %s of %s bytes, ours %" PRIu64 "); it is left as it is: evidence is never overwritten",
               p->base.key, p->upload_url, strna(off), strna(len), p->base.size);
}

static void on_head(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        const char *off = http_request_header(r, "Upload-Offset"), *len = http_request_header(r, "Upload-Length");
        bool final = p->phase == TUS_FINAL_HEAD;
        uint64_t o, l;
        char why[256];

        p->req = NULL;
        if (error < 0)
                return finish(p, error, "HEAD %s: %s", p->upload_url, strna(http_request_error(r)));
        if ((status == 404 || status == 410) && p->phase == TUS_CREATED_HEAD)
                return finish(p, -EREMOTEIO, "HEAD %s: the upload just created is not there (HTTP %ld)",
                              p->upload_url, status);
        if (status == 404 || status == 410) {
                /* The server no longer knows the upload (expired, cleaned up, lost): start over. */
                if (++p->restarts > TUS_MAX_RESTARTS)
                        return finish(p, -EREMOTEIO, "%s: the tus server keeps losing its uploads", p->base.key);
                log_notice("%s: the tus server no longer knows %s (HTTP %ld); starting this object over.", p->base.key,
                           p->upload_url, status);
                p->upload_url = mfree(p->upload_url);
                remote_put_state_remove(&p->base);
                return do_create(p);
        }
        if (status != 200 && status != 204) {
                describe(r, why, sizeof why);
                return finish(p, status_error(status), "HEAD %s: %s", p->upload_url, why);
        }
        if (p->phase == TUS_CREATED_HEAD)
                return on_created_head(p, off, len);
        if (!off || !len || parse_uint64(off, &o) < 0 || parse_uint64(len, &l) < 0) {
                snprintf(p->base.message, sizeof p->base.message, "HEAD %s: no valid Upload-Offset/Upload-Length", p->upload_url);
                return final ? finish(p, -EPROTO, NULL) : terminate_and_fail(p, -EPROTO);
        }
        if (l != p->base.size || o > l) {
                snprintf(p->base.message, sizeof p->base.message,
                         "%s: the tus server's upload %s has length %" PRIu64 " and offset %" PRIu64 ", not %" PRIu64,
                         p->base.key, p->upload_url, l, o, p->base.size);
                return terminate_and_fail(p, -EIO);
        }
        if (final && o != l) {
                snprintf(p->base.message, sizeof p->base.message, "%s: after the last chunk, the tus server holds %" PRIu64
                         " of %" PRIu64 " bytes", p->base.key, o, l);
                return finish(p, -EIO, NULL);
        }
        p->offset = o;
        if (o == l)
                return do_readback(p);
        next_chunk(p);
}

static void do_head(BackendPut *p, TusPhase phase) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        k = new_request(p, "HEAD", p->upload_url, &r);
        if (k >= 0)
                k = start(p, &r, on_head, phase);
        if (k < 0)
                finish(p, k, "HEAD %s: cannot start the request: %s", p->upload_url, strerror(-k));
}

/* ---- PATCH ---- */

static void on_patch(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        const char *off = http_request_header(r, "Upload-Offset");
        uint64_t o;
        char why[256];

        p->req = NULL;
        if (error < 0)
                return finish(p, error, "PATCH %s at %" PRIu64 ": %s", p->upload_url, p->offset,
                              strna(http_request_error(r)));
        if (status == 204 || status == 200) {
                if (!off || parse_uint64(off, &o) < 0 || o <= p->offset || o > p->offset + p->chunk_length)
                        /* Not what tus 1.0 §3.2 allows: ask where it stands. */
                        return do_head(p, TUS_HEAD);
                p->offset = o;
                failpoint_detail("tus-after-patch", p->base.key);
                if (p->offset == p->base.size)
                        return do_head(p, TUS_FINAL_HEAD);
                return next_chunk(p);
        }
        describe(r, why, sizeof why);
        if (status == 409)   /* offset mismatch: the server kept another amount of the last chunk */
                return do_head(p, TUS_HEAD);
        if (status == 460) { /* checksum mismatch (checksum extension) */
                if (++p->checksum_failures >= TUS_MAX_CHECKSUM_FAILURES)
                        return finish(p, -EIO, "PATCH %s at %" PRIu64 ": %s", p->upload_url, p->offset, why);
                return do_head(p, TUS_HEAD);
        }
        if (status == 404 || status == 410)
                return do_head(p, TUS_HEAD);   /* which starts over */
        finish(p, status_error(status), "PATCH %s at %" PRIu64 ": %s", p->upload_url, p->offset, why);
}

static void on_hashed(int result, void *userdata) {
        BackendPut *p = userdata;
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        char b64[45];
        int k;

        if (remote_put_hash_returned(&p->base))
                return;
        if (p->base.finished)
                return;
        if (result < 0)
                return finish(p, -EIO, "%s: cannot read the spool copy %s: %s", p->base.key, p->base.path,
                              strerror(result == -ENODATA ? EIO : -result));
        k = new_request(p, "PATCH", p->upload_url, &r);
        if (k >= 0)
                k = http_request_add_header(r, "Content-Type: application/offset+octet-stream");
        if (k >= 0)
                k = http_request_add_header(r, "Upload-Offset: %" PRIu64, p->offset);
        if (k >= 0)
                k = http_request_add_header(r, "Upload-Checksum: sha256 %s", base64mem(p->hash.sha256, 32, b64));
        if (k >= 0) {
                http_request_set_body_file(r, p->base.fd, p->offset, p->chunk_length);
                k = start(p, &r, on_patch, TUS_PATCH);
        }
        if (k < 0)
                finish(p, k, "PATCH %s: cannot start the request: %s", p->upload_url, strerror(-k));
}

/* Hash the next chunk in the worker pool, then PATCH it. */
static void next_chunk(BackendPut *p) {
        int k;

        p->phase = TUS_HASH;
        p->chunk_length = MIN(p->tus->remote.backend.config->tus_chunk_size, p->base.size - p->offset);
        p->hash = (FileHash) { .fd = p->base.fd, .offset = p->offset, .length = p->chunk_length };
        k = filehash_submit(p->tus->remote.pool, &p->hash, on_hashed, p, &p->base.hash_job);
        if (k < 0)
                finish(p, k, "%s: cannot hash the next chunk: %s", p->base.key, strerror(-k));
}

/* ---- creation ---- */

static char *resolve_location(TusBackend *tus, const char *loc) {
        return tus_location_resolve(tus->endpoint, tus->origin, loc);
}

/* url is on [tus] endpoint's origin: scheme://host[:port] followed by '/' or
 * nothing (not a longer host name that starts alike). */
static bool same_origin(TusBackend *tus, const char *url) {
        const char *rest = startswith(url, tus->origin);

        return rest && (*rest == 0 || *rest == '/');
}

static void on_create(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        const char *loc = http_request_header(r, "Location");
        char why[256];

        p->req = NULL;
        if (error < 0)
                return finish(p, error, "POST %s: %s", p->tus->endpoint, strna(http_request_error(r)));
        if (status != 201) {
                describe(r, why, sizeof why);
                return finish(p, status_error(status), "POST %s (creating %s): %s", p->tus->endpoint, p->base.key, why);
        }
        if (isempty(loc))
                return finish(p, -EPROTO, "POST %s: the answer has no Location", p->tus->endpoint);
        p->upload_url = resolve_location(p->tus, loc);
        if (!p->upload_url)
                return finish(p, -ENOMEM, "out of memory");
        if (startswith(p->tus->endpoint, "https://") && !startswith(p->upload_url, "https://")) {
                /* Evidence never leaves TLS: a server behind a TLS proxy must be told so
                 * (X-Forwarded-Proto) or answer with relative Locations. */
                finish(p, -EPROTO, "POST %s: the tus server's upload URL %s is not https; refusing to send "
                       "evidence without TLS", p->tus->endpoint, p->upload_url);
                p->upload_url = mfree(p->upload_url);
                return;
        }
        if (!same_origin(p->tus, p->upload_url)) {
                /* The credentials and the evidence go to the configured server only. */
                finish(p, -EPROTO, "POST %s: the tus server's upload URL %s is on another origin; refusing to "
                       "send credentials or evidence there", p->tus->endpoint, p->upload_url);
                p->upload_url = mfree(p->upload_url);
                return;
        }
        do_head(p, TUS_CREATED_HEAD);
}

static int add_metadata(BackendPut *p, HttpRequest *r) {
        const char *base = strrchr(p->base.key, '/') ? strrchr(p->base.key, '/') + 1 : p->base.key;
        const char *pairs[6][2] = {
                { "filename", base },
                { "key", p->base.key },
                { "filetype", p->base.content_type ?: "application/octet-stream" },
        };
        _cleanup_free_ char *out = NULL;
        char hex[65], date[32] = "";
        size_t n = 3, len = 0;
        FILE *f;

        pairs[n][0] = "sha256";
        pairs[n++][1] = hexmem(p->base.sha256, 32, hex);
        if (p->base.retain_until > 0) {
                time_t t = (time_t) (p->base.retain_until / USEC_PER_SEC);
                struct tm tm;
                if (gmtime_r(&t, &tm))
                        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
                pairs[n][0] = "retain-until";
                pairs[n++][1] = date;
        }
        if (p->base.legal_hold) {
                pairs[n][0] = "legal-hold";
                pairs[n++][1] = "1";
        }
        f = open_memstream(&out, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(pairs[i][1]);
                _cleanup_free_ char *b64 = malloc(4 * ((l + 2) / 3) + 1);
                if (!b64) {
                        fclose(f);
                        return -ENOMEM;
                }
                fprintf(f, "%s%s %s", i ? "," : "", pairs[i][0], base64mem((const uint8_t *) pairs[i][1], l, b64));
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        return http_request_add_header(r, "Upload-Metadata: %s", out);
}

static void do_create(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        p->checksum_failures = 0;
        p->own = false;
        k = new_request(p, "POST", p->tus->endpoint, &r);
        if (k >= 0)
                k = http_request_add_header(r, "Upload-Length: %" PRIu64, p->base.size);
        if (k >= 0)
                k = add_metadata(p, r);
        if (k >= 0)
                k = start(p, &r, on_create, TUS_CREATE);
        if (k < 0)
                finish(p, k, "POST %s: cannot start the request: %s", p->tus->endpoint, strerror(-k));
}

/* ---- BackendOps ---- */

static int tus_put(Backend *b, const BackendObject *o, backend_put_done_t cb, void *userdata, BackendPut **ret) {
        TusBackend *tus = (TusBackend *) b;
        BackendPut *p;

        p = (BackendPut *) remote_put_new(&tus->remote, sizeof *p, &put_ops, o, cb, userdata);
        if (!p)
                return -ENOMEM;
        p->tus = tus;
        if (remote_put_open(&p->base) >= 0) {
                state_load(p);
                if (p->upload_url && !same_origin(tus, p->upload_url))
                        p->upload_url = mfree(p->upload_url);   /* not from us, or [tus] endpoint moved */
                /* A saved upload is one our creation made fresh. */
                p->own = p->upload_url;
                if (p->upload_url) {
                        log_debug("%s: resuming tus upload %s.", p->base.key, p->upload_url);
                        do_head(p, TUS_HEAD);
                } else
                        do_create(p);
        }
        if (ret)
                *ret = p;
        return 0;
}

static void tus_cancel(BackendPut *p) {
        (void) sd_event_source_set_enabled(p->base.finish_source, SD_EVENT_OFF);
        remote_put_release(&p->base);
}

static uint64_t tus_progress(BackendPut *p) {
        return p->offset;
}

static void tus_free(Backend *b) {
        TusBackend *tus = (TusBackend *) b;

        remote_backend_done(&tus->remote);
        free(tus->endpoint);
        free(tus->origin);
        free(tus);
}

static void tus_confirmation(BackendPut *p, BackendConfirmation *ret) {
        *ret = (BackendConfirmation) { .location = p->upload_url };
}

static const BackendOps tus_ops = {
        .name = "tus",
        .put = tus_put,
        .cancel = tus_cancel,
        .progress = tus_progress,
        .free = tus_free,
        .confirmation = tus_confirmation,
        .stat = backend_tus_stat,
        .request_cancel = backend_tus_request_cancel,
        .bytes_sent = remote_bytes_sent,
};

int backend_tus_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error) {
        TusBackend *tus;
        const char *rest;
        int k;

        tus = calloc(1, sizeof *tus);
        if (!tus)
                return -ENOMEM;
        tus->ops = tus_ops;
        if (config->tus_uploads_named_by_key)
                tus->ops.get = backend_tus_get;
        k = remote_backend_init(&tus->remote, &tus->ops, event, config, "tus", "tus", config->tus_credentials,
                                CREDENTIALS_HTTP_HEADERS, ret_error);
        if (k < 0) {
                tus_free(&tus->remote.backend);
                return k;
        }
        /* The creation URL; Locations may be relative to it or to its origin. */
        if (endswith(config->tus_endpoint, "/") || strchr(strstr(config->tus_endpoint, "://") + 3, '/'))
                tus->endpoint = strdup(config->tus_endpoint);
        else if (asprintf(&tus->endpoint, "%s/", config->tus_endpoint) < 0)
                tus->endpoint = NULL;
        rest = strstr(config->tus_endpoint, "://") + 3;
        tus->origin = strndup(config->tus_endpoint, (size_t) (rest - config->tus_endpoint) + strcspn(rest, "/"));
        if (!tus->endpoint || !tus->origin) {
                tus_free(&tus->remote.backend);
                return -ENOMEM;
        }
        k = remote_backend_start(&tus->remote,
                                 &(HttpClientConfig) {
                                         .ca_file = config->tus_ca_file,
                                         .timeout = config->tus_timeout,
                                         .bandwidth_limit = config->storage_bandwidth_limit,
                                 },
                                 ret_error);
        if (k < 0) {
                tus_free(&tus->remote.backend);
                return k;
        }
        *ret = &tus->remote.backend;
        return 0;
}
