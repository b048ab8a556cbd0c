/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus-check.c: the tus backend's read side, for reconciliation. tus 1.0
 * can only be asked about an upload it was given: HEAD of the upload URL says
 * its length and how much it holds (Upload-Length, Upload-Offset: tus core
 * §HEAD), and a GET of the same URL (a common server extension, which the
 * backend already relies on for its read-back) returns the bytes, hashed here as
 * they stream by. 404 and 410 (tus: terminated or expired) mean gone. */
#include <stdio.h>
#include <string.h>

#include "backend-remote.h"
#include "backend-tus-check.h"
#include "parse-util.h"

struct BackendRequest {
        Backend *backend;
        HttpRequest *http;
        char *url;
        backend_stat_done_t cb;
        void *userdata;
        bool read_back;
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

static void on_head(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        const char *len = http_request_header(r, "Upload-Length"), *off = http_request_header(r, "Upload-Offset");
        uint64_t length, offset;
        long status = http_request_status(r);
        int k;

        if (error < 0)
                return done(q, error, NULL, http_request_error(r));
        if (status == 404 || status == 410)
                return done(q, -ENOENT, NULL, "the upload is gone");
        if (status != 200 && status != 204)
                return done(q, -EREMOTEIO, NULL, "HEAD of the upload was refused");
        if (!len || !off || parse_uint64(len, &length) < 0 || parse_uint64(off, &offset) < 0)
                return done(q, -EPROTO, NULL, "HEAD of the upload answered without Upload-Length and Upload-Offset");
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
