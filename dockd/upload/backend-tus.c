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
 * sha256. Otherwise, and on any mismatch, nothing is confirmed; a mismatching
 * upload is terminated and the next attempt starts the object over. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "credentials.h"
#include "failpoint.h"
#include "filehash.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "parse-util.h"

#define TUS_VERSION "1.0.0"
#define TUS_STATE_MAGIC "dockd-tus-upload 1"
#define TUS_MAX_CHECKSUM_FAILURES 3
#define TUS_MAX_RESTARTS 3

typedef struct TusBackend {
        Backend backend;
        HttpClient *http;
        Credentials *creds;        /* extra header lines; may be NULL */
        WorkerPool *pool;
        char *endpoint;
        char *origin;              /* scheme://host[:port], for absolute-path Locations */
} TusBackend;

typedef enum TusPhase {
        TUS_HEAD,                  /* where does the server stand? */
        TUS_CREATE,
        TUS_HASH,                  /* hashing the next chunk */
        TUS_PATCH,
        TUS_FINAL_HEAD,
        TUS_READBACK,
        TUS_OPTIONS,
        TUS_TERMINATE,
} TusPhase;

struct BackendPut {
        TusBackend *tus;
        char *key;
        char *path;
        char *state_path;
        char *content_type;
        uint64_t size;
        uint8_t sha256[32];
        usec_t retain_until;
        bool legal_hold;
        backend_put_done_t cb;
        void *userdata;

        int fd;
        TusPhase phase;
        char *upload_url;
        uint64_t offset;           /* what the server holds */
        uint64_t chunk_length;
        FileHash hash;
        WorkerJob *hash_job;
        HttpRequest *req;
        unsigned checksum_failures;
        unsigned restarts;
        int terminate_error;       /* the failure to report once the termination is done */

        bool finished;
        bool cancelled;
        int finish_error;
        sd_event_source *finish_source;
        char message[512];
};

static void do_head(BackendPut *p, TusPhase phase);
static void do_create(BackendPut *p);
static void next_chunk(BackendPut *p);

/* ---- state ---- */

static int state_save(BackendPut *p) {
        _cleanup_free_ char *data = NULL;

        if (!p->state_path)
                return 0;
        if (asprintf(&data, TUS_STATE_MAGIC "\nkey=%s\nsize=%" PRIu64 "\nurl=%s\n", p->key, p->size,
                     p->upload_url) < 0)
                return -ENOMEM;
        return write_file_atomic(p->state_path, data, strlen(data), 0600);
}

static void state_remove(BackendPut *p) {
        if (p->state_path)
                (void) unlink_durable(p->state_path);
}

static void state_load(BackendPut *p) {
        _cleanup_free_ char *data = NULL, *key = NULL, *url = NULL;
        uint64_t size = UINT64_MAX;
        size_t n;

        if (!p->state_path || read_full_file(p->state_path, 64 * KiB, &data, &n) < 0 ||
            !startswith(data, TUS_STATE_MAGIC "\n"))
                return;
        for (char *line = data, *next; line && *line; line = next) {
                const char *v;
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if ((v = startswith(line, "key="))) {
                        free(key);
                        key = strdup(v);
                } else if ((v = startswith(line, "size=")))
                        size = strtoull(v, NULL, 10);
                else if ((v = startswith(line, "url="))) {
                        free(url);
                        url = strdup(v);
                }
        }
        if (streq_ptr(key, p->key) && size == p->size && !isempty(url))
                p->upload_url = TAKE_PTR(url);
}

/* ---- finishing ---- */

static void put_free(BackendPut *p) {
        http_request_free(p->req);
        sd_event_source_disable_unref(p->finish_source);
        safe_close(p->fd);
        free(p->key);
        free(p->path);
        free(p->state_path);
        free(p->content_type);
        free(p->upload_url);
        free(p);
}

static void put_release(BackendPut *p) {
        p->cancelled = true;
        p->req = http_request_free(p->req);
        if (p->hash_job) {
                worker_job_cancel(p->tus->pool, p->hash_job);
                return;   /* on_hashed() frees it */
        }
        put_free(p);
}

static int on_finish(sd_event_source *s, void *userdata) {
        BackendPut *p = userdata;

        p->cb(p, p->finish_error, p->finish_error < 0 ? p->message : NULL, p->userdata);
        put_release(p);
        return 0;
}

static void reload_credentials(TusBackend *tus) {
        _cleanup_(credentials_freep) Credentials *c = NULL;
        _cleanup_free_ char *error = NULL;

        if (!tus->backend.config->tus_credentials)
                return;
        if (credentials_load(tus->backend.config->tus_credentials, CREDENTIALS_HTTP_HEADERS, &c, &error) < 0) {
                log_debug("Cannot read the tus credentials again: %s", strna(error));
                return;
        }
        http_client_set_credentials(tus->http, NULL, NULL, c->headers);
        credentials_free(tus->creds);
        tus->creds = TAKE_PTR(c);
}

_printf_(3, 4) static void finish(BackendPut *p, int error, const char *fmt, ...) {
        if (p->finished)
                return;
        p->finished = true;
        p->finish_error = error;
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(p->message, sizeof p->message, fmt, ap);
                va_end(ap);
        }
        p->req = http_request_free(p->req);
        if (error >= 0) {
                state_remove(p);
                log_debug("%s: confirmed by the tus server (%" PRIu64 " bytes at %s).", p->key, p->size,
                          p->upload_url);
        } else if (error == -EACCES) {
                /* HEAD answers carry no error document: say what a refusal means. */
                size_t n = strlen(p->message);
                snprintf(p->message + n, sizeof p->message - n,
                         "; central storage refused the credentials in [%s] credentials=%s, or their permissions",
                         "tus", strna(p->tus->backend.config->tus_credentials));
                reload_credentials(p->tus);
        }
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_ONESHOT);
}

/* What a refusal means for the uploader. */
static int status_error(long status) {
        if (status == 401 || status == 403)
                return -EACCES;
        if (status == 503 || status == 429)
                return -EBUSY;
        if (status >= 500)
                return -EREMOTEIO;
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
        k = http_request_new(p->tus->http, method, url, &r);
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
                log_info("%s: cannot terminate the upload %s (%s).", p->key, p->upload_url,
                         error < 0 ? strna(http_request_error(r)) : "refused");
        p->upload_url = mfree(p->upload_url);
        state_remove(p);
        finish(p, p->terminate_error, NULL);
}

/* Fail with error (message already in p->message), dropping the upload. */
static void terminate_and_fail(BackendPut *p, int error) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        p->terminate_error = error;
        k = new_request(p, "DELETE", p->upload_url, &r);
        if (k >= 0)
                k = start(p, &r, on_terminate, TUS_TERMINATE);
        if (k < 0) {
                p->upload_url = mfree(p->upload_url);
                state_remove(p);
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
        if (ext && strstr(ext, "checksum") && alg && strcasestr(alg, "sha256"))
                return finish(p, 0, NULL);
        finish(p, -EIO, "%s: the tus server neither returns uploads (GET) nor checks SHA-256 checksums; "
               "it cannot confirm that it holds these bytes", p->key);
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
        if (status == 404 || status == 405 || status == 501) {
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
        if (n != p->size || memcmp(got, p->sha256, 32) != 0) {
                snprintf(p->message, sizeof p->message,
                         "%s: the tus server returns %" PRIu64 " bytes with SHA-256 %s, not %" PRIu64 " bytes with %s",
                         p->key, n, hexmem(got, 32, a), p->size, hexmem(p->sha256, 32, b));
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
        if (status == 404 || status == 410) {
                /* The server no longer knows the upload (expired, cleaned up, lost): start over. */
                if (++p->restarts > TUS_MAX_RESTARTS)
                        return finish(p, -EREMOTEIO, "%s: the tus server keeps losing its uploads", p->key);
                log_notice("%s: the tus server no longer knows %s (HTTP %ld); starting this object over.", p->key,
                           p->upload_url, status);
                p->upload_url = mfree(p->upload_url);
                state_remove(p);
                return do_create(p);
        }
        if (status != 200 && status != 204) {
                describe(r, why, sizeof why);
                return finish(p, status_error(status), "HEAD %s: %s", p->upload_url, why);
        }
        if (!off || !len || parse_uint64(off, &o) < 0 || parse_uint64(len, &l) < 0) {
                snprintf(p->message, sizeof p->message, "HEAD %s: no valid Upload-Offset/Upload-Length", p->upload_url);
                return final ? finish(p, -EPROTO, NULL) : terminate_and_fail(p, -EPROTO);
        }
        if (l != p->size || o > l) {
                snprintf(p->message, sizeof p->message,
                         "%s: the tus server's upload %s has length %" PRIu64 " and offset %" PRIu64 ", not %" PRIu64,
                         p->key, p->upload_url, l, o, p->size);
                return terminate_and_fail(p, -EIO);
        }
        if (final && o != l) {
                snprintf(p->message, sizeof p->message, "%s: after the last chunk, the tus server holds %" PRIu64
                         " of %" PRIu64 " bytes", p->key, o, l);
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
                failpoint("tus-after-patch");
                if (p->offset == p->size)
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

        p->hash_job = NULL;
        if (p->cancelled)
                return put_free(p);
        if (p->finished)
                return;
        if (result < 0)
                return finish(p, -EIO, "%s: cannot read the spool copy %s: %s", p->key, p->path,
                              strerror(result == -ENODATA ? EIO : -result));
        k = new_request(p, "PATCH", p->upload_url, &r);
        if (k >= 0)
                k = http_request_add_header(r, "Content-Type: application/offset+octet-stream");
        if (k >= 0)
                k = http_request_add_header(r, "Upload-Offset: %" PRIu64, p->offset);
        if (k >= 0)
                k = http_request_add_header(r, "Upload-Checksum: sha256 %s", base64mem(p->hash.sha256, 32, b64));
        if (k >= 0) {
                http_request_set_body_file(r, p->fd, p->offset, p->chunk_length);
                k = start(p, &r, on_patch, TUS_PATCH);
        }
        if (k < 0)
                finish(p, k, "PATCH %s: cannot start the request: %s", p->upload_url, strerror(-k));
}

/* Hash the next chunk in the worker pool, then PATCH it. */
static void next_chunk(BackendPut *p) {
        int k;

        p->phase = TUS_HASH;
        p->chunk_length = MIN(p->tus->backend.config->tus_chunk_size, p->size - p->offset);
        p->hash = (FileHash) { .fd = p->fd, .offset = p->offset, .length = p->chunk_length };
        k = filehash_submit(p->tus->pool, &p->hash, on_hashed, p, &p->hash_job);
        if (k < 0)
                finish(p, k, "%s: cannot hash the next chunk: %s", p->key, strerror(-k));
}

/* ---- creation ---- */

static char *resolve_location(TusBackend *tus, const char *loc) {
        char *u = NULL;

        if (startswith(loc, "http://") || startswith(loc, "https://"))
                return strdup(loc);
        if (loc[0] == '/') {
                if (asprintf(&u, "%s%s", tus->origin, loc) < 0)
                        return NULL;
                return u;
        }
        /* Relative to the creation URL's directory. */
        if (asprintf(&u, "%.*s%s", (int) (strrchr(tus->endpoint, '/') + 1 - tus->endpoint), tus->endpoint, loc) < 0)
                return NULL;
        return u;
}

static void on_create(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        const char *loc = http_request_header(r, "Location");
        char why[256];
        int k;

        p->req = NULL;
        if (error < 0)
                return finish(p, error, "POST %s: %s", p->tus->endpoint, strna(http_request_error(r)));
        if (status != 201) {
                describe(r, why, sizeof why);
                return finish(p, status_error(status), "POST %s (creating %s): %s", p->tus->endpoint, p->key, why);
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
        k = state_save(p);
        if (k < 0)
                return finish(p, k, "%s: cannot save the resume state %s: %s", p->key, p->state_path, strerror(-k));
        log_debug("%s: tus upload %s created.", p->key, p->upload_url);
        failpoint("tus-after-create");
        p->offset = 0;
        if (p->size == 0)
                return do_head(p, TUS_FINAL_HEAD);
        next_chunk(p);
}

static int add_metadata(BackendPut *p, HttpRequest *r) {
        const char *base = strrchr(p->key, '/') ? strrchr(p->key, '/') + 1 : p->key;
        const char *pairs[6][2] = {
                { "filename", base },
                { "key", p->key },
                { "filetype", p->content_type ?: "application/octet-stream" },
        };
        _cleanup_free_ char *out = NULL;
        char hex[65], date[32] = "";
        size_t n = 3, len = 0;
        FILE *f;

        pairs[n][0] = "sha256";
        pairs[n++][1] = hexmem(p->sha256, 32, hex);
        if (p->retain_until > 0) {
                time_t t = (time_t) (p->retain_until / USEC_PER_SEC);
                struct tm tm;
                if (gmtime_r(&t, &tm))
                        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
                pairs[n][0] = "retain-until";
                pairs[n++][1] = date;
        }
        if (p->legal_hold) {
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
        k = new_request(p, "POST", p->tus->endpoint, &r);
        if (k >= 0)
                k = http_request_add_header(r, "Upload-Length: %" PRIu64, p->size);
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
        struct stat st;
        int k;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->tus = tus;
        p->fd = -EBADF;
        p->key = strdup(o->key);
        p->path = strdup(o->path);
        p->state_path = o->state_path ? strdup(o->state_path) : NULL;
        p->content_type = o->content_type ? strdup(o->content_type) : NULL;
        p->size = o->size;
        memcpy(p->sha256, o->sha256, 32);
        p->retain_until = o->retain_until;
        p->legal_hold = o->legal_hold;
        p->cb = cb;
        p->userdata = userdata;
        if (!p->key || !p->path || (o->state_path && !p->state_path) || (o->content_type && !p->content_type)) {
                put_free(p);
                return -ENOMEM;
        }
        k = sd_event_add_defer(b->event, &p->finish_source, on_finish, p);
        if (k < 0) {
                put_free(p);
                return k;
        }
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_OFF);

        p->fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (p->fd < 0) {
                k = -errno;
                finish(p, k, "cannot open %s: %s", p->path, strerror(-k));
        } else if (fstat(p->fd, &st) < 0 || (uint64_t) st.st_size != p->size)
                finish(p, -EIO, "%s: the spool copy %s is not %" PRIu64 " bytes long", p->key, p->path, p->size);
        else {
                state_load(p);
                if (p->upload_url) {
                        log_debug("%s: resuming tus upload %s.", p->key, p->upload_url);
                        do_head(p, TUS_HEAD);
                } else
                        do_create(p);
        }
        if (ret)
                *ret = p;
        return 0;
}

static void tus_cancel(BackendPut *p) {
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_OFF);
        put_release(p);
}

static uint64_t tus_progress(BackendPut *p) {
        return p->offset;
}

static void tus_free(Backend *b) {
        TusBackend *tus = (TusBackend *) b;

        worker_pool_free(tus->pool);
        http_client_free(tus->http);
        credentials_free(tus->creds);
        free(tus->endpoint);
        free(tus->origin);
        free(tus);
}

static const BackendOps tus_ops = {
        .name = "tus",
        .put = tus_put,
        .cancel = tus_cancel,
        .progress = tus_progress,
        .free = tus_free,
};

int backend_tus_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        TusBackend *tus;
        HttpClientConfig hc;
        const char *rest;
        int k;

        tus = calloc(1, sizeof *tus);
        if (!tus)
                return -ENOMEM;
        tus->backend = (Backend) { .ops = &tus_ops, .event = event, .config = config };
        if (config->tus_credentials) {
                k = credentials_load(config->tus_credentials, CREDENTIALS_HTTP_HEADERS, &tus->creds, &error);
                if (k < 0) {
                        if (asprintf(ret_error, "[tus] credentials: %s", error ?: strerror(-k)) < 0)
                                *ret_error = NULL;
                        tus_free(&tus->backend);
                        return k;
                }
        }
        /* The creation URL; Locations may be relative to it or to its origin. */
        if (endswith(config->tus_endpoint, "/") || strchr(strstr(config->tus_endpoint, "://") + 3, '/'))
                tus->endpoint = strdup(config->tus_endpoint);
        else if (asprintf(&tus->endpoint, "%s/", config->tus_endpoint) < 0)
                tus->endpoint = NULL;
        rest = strstr(config->tus_endpoint, "://") + 3;
        tus->origin = strndup(config->tus_endpoint, (size_t) (rest - config->tus_endpoint) + strcspn(rest, "/"));
        if (!tus->endpoint || !tus->origin) {
                tus_free(&tus->backend);
                return -ENOMEM;
        }
        hc = (HttpClientConfig) {
                .ca_file = config->tus_ca_file,
                .timeout = config->tus_timeout,
                .bandwidth_limit = config->storage_bandwidth_limit,
                .extra_headers = tus->creds ? tus->creds->headers : NULL,
        };
        k = http_client_new(event, &hc, &tus->http);
        if (k >= 0)
                k = worker_pool_new(event, 2, &tus->pool);
        if (k < 0) {
                if (asprintf(ret_error, "cannot set up the tus client: %s", strerror(-k)) < 0)
                        *ret_error = NULL;
                tus_free(&tus->backend);
                return k;
        }
        *ret = &tus->backend;
        return 0;
}
