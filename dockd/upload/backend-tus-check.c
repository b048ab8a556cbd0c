/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus-check.c: the tus backend's read side, for reconciliation. tus 1.0
 * can only be asked about an upload it was given: HEAD of the upload URL says
 * its length and how much it holds (Upload-Length, Upload-Offset: tus core
 * §HEAD), and a GET of the same URL (a common server extension, which the
 * backend already relies on for its read-back) returns the bytes, hashed here as
 * they stream by. 404 and 410 (tus: terminated or expired) mean gone.
 *
 * Finding an object by its key (get: another dock's manifest, for the hash
 * chain) is no part of tus: an upload's URL is whatever the server named it at
 * creation, known only to the dock that created it. It works only where the
 * deployment names uploads by their key ([tus] uploads_named_by_key: the upload
 * id is the key with each '/' written as '~', as tests/servers/tus-keyed.mjs
 * and a naming hook of tusd or @tus/server do); the upload found there must be
 * complete and its Upload-Metadata must name that key. Elsewhere get is not
 * offered (BackendOps.get NULL), and the README says what follows. */
#include <stdio.h>
#include <string.h>

#include "backend-remote.h"
#include "backend-tus-check.h"
#include "parse-util.h"
#include "s3-protocol.h"
#include "tus-answer.h"

struct BackendRequest {
        Backend *backend;
        HttpRequest *http;
        char *url;
        backend_stat_done_t cb;
        backend_get_done_t get_done;
        void *userdata;
        bool read_back;
        char *key;                 /* get */
        size_t max;                /* get */
        uint64_t length;           /* from the HEAD */
};

/* A URL the backend would have accepted as an upload URL: an https endpoint
 * never leads to plain http (backend-tus.c refuses such a Location). */
static bool url_acceptable(Backend *b, const char *url) {
        if (startswith(b->config->tus_endpoint, "https://"))
                return startswith(url, "https://");
        return startswith(url, "https://") || startswith(url, "http://");
}

static BackendRequest *request_free(BackendRequest *q) {
        if (!q)
                return NULL;
        http_request_free(q->http);
        free(q->url);
        free(q->key);
        free(q);
        return NULL;
}

void backend_tus_request_cancel(BackendRequest *q) {
        request_free(q);
}

static void done(BackendRequest *q, int error, const BackendStat *st, const char *message) {
        q->cb(q, error, st, message, q->userdata);
        request_free(q);
}

static int start(BackendRequest *q, const char *method, http_done_t cb);

static void on_get(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        BackendStat st = { .have_sha256 = true };
        unsigned n = 0;
        long status = http_request_status(r);

        if (error < 0)
                return done(q, error, NULL, http_request_error(r));
        if (status == 404 || status == 410)
                return done(q, -ENOENT, NULL, "the upload is gone");
        if (status != 200 || http_request_body_digest(r, st.sha256, &n, &st.size) < 0 || n != 32)
                return done(q, -EREMOTEIO, NULL, "GET of the upload (read-back) did not answer with its bytes");
        done(q, 0, &st, NULL);
}

/* A HEAD of an upload: its length and offset, or why not (-ENOENT gone). */
static int head_answer(HttpRequest *r, int error, uint64_t *ret_length, uint64_t *ret_offset, const char **ret_why) {
        const char *len = http_request_header(r, "Upload-Length"), *off = http_request_header(r, "Upload-Offset");
        long status = http_request_status(r);

        *ret_why = error < 0 ? http_request_error(r)
                   : status == 404 || status == 410 ? "the upload is gone"
                   : status != 200 && status != 204 ? "HEAD of the upload was refused"
                   : "HEAD of the upload answered without Upload-Length and Upload-Offset";
        if (error < 0)
                return error;
        if (status == 404 || status == 410)
                return -ENOENT;
        if (status != 200 && status != 204)
                return -EREMOTEIO;
        if (!len || !off || parse_uint64(len, ret_length) < 0 || parse_uint64(off, ret_offset) < 0)
                return -EPROTO;
        *ret_why = NULL;
        return 0;
}

static void get_headed(BackendRequest *q, HttpRequest *r, int k, uint64_t length, uint64_t offset,
                       const char *why);

static void on_head(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        uint64_t length = 0, offset = 0;
        const char *why;
        int k;

        k = head_answer(r, error, &length, &offset, &why);
        if (q->get_done)
                return get_headed(q, r, k, length, offset, why);
        if (k < 0)
                return done(q, k, NULL, why);
        if (offset != length) {   /* an upload that holds less than all of it is not the object confirmed */
                BackendStat st = { .size = offset };
                return done(q, 0, &st, NULL);
        }
        if (!q->read_back) {
                BackendStat st = { .size = length };
                return done(q, 0, &st, NULL);
        }
        q->length = length;
        q->http = http_request_free(q->http);
        k = start(q, "GET", on_get);
        if (k < 0)
                done(q, k, NULL, "cannot start the read-back");
}

static int start(BackendRequest *q, const char *method, http_done_t cb) {
        int r = http_request_new(((RemoteBackend *) q->backend)->http, method, q->url, &q->http);

        if (r >= 0 && streq(method, "GET"))
                r = http_request_hash_body(q->http, EVP_sha256());
        if (r >= 0)
                r = http_request_add_header(q->http, "Tus-Resumable: 1.0.0");
        if (r >= 0)
                r = http_request_start(q->http, cb, q);
        return r;
}

/* ---- get: an object by its key, where uploads are named by key ---- */

static void get_done(BackendRequest *q, int error, const uint8_t *data, size_t size, const char *why) {
        if (why)
                log_debug("tus: %s: %s.", q->url, why);
        q->get_done(q, error, data, size, q->userdata);
        request_free(q);
}

static void on_get_body(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        long status = http_request_status(r);
        const char *body;
        size_t size = 0;

        if (error < 0)
                return get_done(q, error, NULL, 0, http_request_error(r));
        if (status == 404 || status == 410)
                return get_done(q, -ENOENT, NULL, 0, "gone since its HEAD");
        if (status != 200)
                return get_done(q, -EREMOTEIO, NULL, 0, "GET of the upload refused");
        body = http_request_body(r, &size);
        if (size != q->length)
                return get_done(q, -EAGAIN, NULL, 0, "GET answered with another length than the HEAD");
        get_done(q, 0, (const uint8_t *) body, size, NULL);
}

/* The HEAD of a get (on_head()): complete, named for the key, small enough? Then GET it. */
static void get_headed(BackendRequest *q, HttpRequest *r, int k, uint64_t length, uint64_t offset, const char *why) {
        if (k < 0)
                return get_done(q, k, NULL, 0, k == -ENOENT ? NULL : why);
        if (!tus_metadata_has(http_request_header(r, "Upload-Metadata"), "key", q->key))
                /* Not named by key as configured: nothing can be said about the key. */
                return get_done(q, -EPROTO, NULL, 0, "the upload's Upload-Metadata names another key");
        if (length > q->max)
                return get_done(q, -EFBIG, NULL, 0, NULL);
        if (offset != length)
                /* Another dock is still uploading it: ask again later. */
                return get_done(q, -EAGAIN, NULL, 0, "the upload is not complete yet");
        q->length = length;
        q->http = http_request_free(q->http);
        k = http_request_new(((RemoteBackend *) q->backend)->http, "GET", q->url, &q->http);
        if (k >= 0) {
                http_request_keep_body(q->http, q->max);
                k = http_request_add_header(q->http, "Tus-Resumable: 1.0.0");
        }
        if (k >= 0)
                k = http_request_start(q->http, on_get_body, q);
        if (k < 0)
                get_done(q, k, NULL, 0, "cannot start the GET");
}

/* The upload URL of key in a deployment naming uploads by key. */
static char *keyed_url(Backend *b, const char *key) {
        const char *ep = b->config->tus_endpoint;
        _cleanup_free_ char *id = strdup(key), *escaped = NULL;
        char *u;

        if (!id)
                return NULL;
        for (char *c = id; *c; c++)
                if (*c == '/')
                        *c = '~';
        escaped = s3_uri_escape(id, false);
        if (!escaped || asprintf(&u, "%s%s%s", ep, endswith(ep, "/") ? "" : "/", escaped) < 0)
                return NULL;
        return u;
}

int backend_tus_get(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                    BackendRequest **ret) {
        BackendRequest *q;
        int r;

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (BackendRequest) { .backend = b, .get_done = cb, .userdata = userdata, .max = max,
                                .key = strdup(key), .url = keyed_url(b, key) };
        r = q->key && q->url ? start(q, "HEAD", on_head) : -ENOMEM;
        if (r < 0) {
                request_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

int backend_tus_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                     BackendRequest **ret) {
        BackendRequest *q;
        int r;

        /* Without the URL recorded at confirmation the upload cannot be found. */
        if (!spec->location || !url_acceptable(b, spec->location))
                return -EOPNOTSUPP;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (BackendRequest) { .backend = b, .cb = cb, .userdata = userdata, .read_back = spec->read_back,
                                .url = strdup(spec->location) };
        r = q->url ? start(q, "HEAD", on_head) : -ENOMEM;
        if (r < 0) {
                request_free(q);
                return r;
        }
        *ret = q;
        return 0;
}
