/* SPDX-License-Identifier: Apache-2.0 */
/* backend-s3-check.c: the s3 backend's read side, for reconciliation: list a
 * prefix (ListObjectsV2, a page of 1000 keys per request), and stat an object
 * (HEAD: size, ETag and Object Lock headers; or a GET whose body is hashed as it
 * streams by, for a read-back). Requests go through the backend's own client:
 * same endpoint, SigV4 credentials, TLS and bandwidth cap as uploads. What the
 * store answers is checked like any answer from outside: keys outside the
 * prefix or out of order, sizes that do not parse, and oversized documents
 * fail the request. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend-remote.h"
#include "backend-s3-check.h"
#include "parse-util.h"
#include "s3-answer.h"
#include "s3-protocol.h"

#define S3_LIST_PAGE 1000
#define S3_LIST_XML_MAX (8 * MiB)

struct BackendRequest {
        Backend *backend;
        HttpRequest *http;
        char *prefix;              /* list */
        backend_stat_done_t stat_done;
        backend_list_done_t list_done;
        backend_get_done_t get_done;
        void *userdata;
        bool read_back;
};

/* The URL of key (NULL: the bucket), with query (escaped, in SigV4's order). */
static char *object_url(Backend *b, const char *key, const char *query) {
        _cleanup_free_ char *base = s3_bucket_url(b->config), *k = key ? s3_uri_escape(key, true) : NULL;
        char *u;

        if (!base || (key && !k))
                return NULL;
        if (asprintf(&u, "%s/%s%s%s", base, strempty(k), query ? "?" : "", strempty(query)) < 0)
                return NULL;
        return u;
}

static HttpClient *client(Backend *b) {
        return ((RemoteBackend *) b)->http;
}

static BackendRequest *request_free(BackendRequest *q) {
        if (!q)
                return NULL;
        http_request_free(q->http);
        free(q->prefix);
        free(q);
        return NULL;
}

void backend_s3_request_cancel(BackendRequest *q) {
        request_free(q);
}

static void answer_reason(HttpRequest *r, int error, char *buf, size_t size) {
        if (error < 0)
                snprintf(buf, size, "%s", strna(http_request_error(r)));
        else
                snprintf(buf, size, "HTTP %ld", http_request_status(r));
}

/* "2030-01-01T00:00:00.000Z" (the x-amz-object-lock-retain-until-date form):
 * seconds, or 0 if it does not parse. */
static uint64_t parse_iso8601(const char *s) {
        struct tm tm = {};
        const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
        time_t t;

        if (!end)
                return 0;
        t = timegm(&tm);
        return t > 0 ? (uint64_t) t : 0;
}

static void on_stat(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        BackendStat st = {};
        const char *len = http_request_header(r, "Content-Length"), *mode, *hold;
        char reason[200];
        long status = http_request_status(r);
        unsigned dlen = 0;

        if (error >= 0 && (status == 404 || status == 410)) {
                q->stat_done(q, -ENOENT, NULL, "not found", q->userdata);
                return (void) request_free(q);
        }
        if (error < 0 || status != 200) {
                answer_reason(r, error, reason, sizeof reason);
                q->stat_done(q, error < 0 ? error : -EREMOTEIO, NULL, reason, q->userdata);
                return (void) request_free(q);
        }
        if (q->read_back) {
                if (http_request_body_digest(r, st.sha256, &dlen, &st.size) < 0 || dlen != 32) {
                        q->stat_done(q, -EPROTO, NULL, "the read-back could not be hashed", q->userdata);
                        return (void) request_free(q);
                }
                st.have_sha256 = true;
        } else if (!len || parse_uint64(len, &st.size) < 0) {
                q->stat_done(q, -EPROTO, NULL, "HEAD answered without a usable Content-Length", q->userdata);
                return (void) request_free(q);
        }
        st.etag = http_request_header(r, "ETag");
        mode = http_request_header(r, "x-amz-object-lock-mode");
        hold = http_request_header(r, "x-amz-object-lock-legal-hold");
        st.lock_reported = mode || hold;
        st.lock_mode = mode;
        st.retain_until = parse_iso8601(http_request_header(r, "x-amz-object-lock-retain-until-date"));
        st.legal_hold = hold && strcaseeq(hold, "ON");
        q->stat_done(q, 0, &st, NULL, q->userdata);
        request_free(q);
}

int backend_s3_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                    BackendRequest **ret) {
        _cleanup_free_ char *url = object_url(b, spec->key, NULL);
        BackendRequest *q;
        int r;

        if (!url)
                return -ENOMEM;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (BackendRequest) { .backend = b, .stat_done = cb, .userdata = userdata, .read_back = spec->read_back };
        r = http_request_new(client(b), spec->read_back ? "GET" : "HEAD", url, &q->http);
        if (r >= 0 && spec->read_back)
                r = http_request_hash_body(q->http, EVP_sha256());
        if (r >= 0)
                r = s3_add_payload_hash(q->http, NULL);
        if (r >= 0)
                r = http_request_start(q->http, on_stat, q);
        if (r < 0) {
                request_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

/* Start q (its prefix set: the key or prefix, NULL when out of memory) as a
 * signed GET of url keeping at most max bytes of the answer (more fails it with
 * -EFBIG: never read beyond). On failure q is freed. */
static int start_get(BackendRequest *q, const char *url, size_t max, http_done_t done, BackendRequest **ret) {
        int r = q->prefix ? http_request_new(client(q->backend), "GET", url, &q->http) : -ENOMEM;

        if (r >= 0) {
                http_request_keep_body(q->http, max);
                r = s3_add_payload_hash(q->http, NULL);
        }
        if (r >= 0)
                r = http_request_start(q->http, done, q);
        if (r < 0) {
                request_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

/* ---- GET of a small object ---- */

static void on_get(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        long status = http_request_status(r);
        const char *body = NULL;
        size_t size = 0;

        if (error >= 0 && (status == 404 || status == 410))
                error = -ENOENT;   /* NoSuchKey */
        else if (error >= 0 && status != 200)
                error = -EREMOTEIO;
        else if (error >= 0)
                body = http_request_body(r, &size);
        if (error < 0 && error != -ENOENT)
                log_debug("GET of %s from s3: %s.", strna(q->prefix), strna(http_request_error(r)));
        q->get_done(q, error, (const uint8_t *) body, size, q->userdata);
        request_free(q);
}

int backend_s3_get(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                   BackendRequest **ret) {
        _cleanup_free_ char *url = object_url(b, key, NULL);
        BackendRequest *q;

        if (!url)
                return -ENOMEM;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        /* prefix holds the key, for the log. */
        *q = (BackendRequest) { .backend = b, .get_done = cb, .userdata = userdata, .prefix = strdup(key) };
        return start_get(q, url, max, on_get, ret);
}

/* ---- ListObjectsV2 ---- */

static void on_list(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        _cleanup_(xml_freep) XmlNode *root = NULL;
        _cleanup_free_ BackendListEntry *entries = NULL;
        _cleanup_free_ S3ListedObject *objects = NULL;
        const char *body, *next = NULL;
        char reason[200];
        size_t n = 0, size = 0;
        int k;

        if (error < 0 || http_request_status(r) != 200) {
                answer_reason(r, error, reason, sizeof reason);
                q->list_done(q, error < 0 ? error : -EREMOTEIO, NULL, 0, NULL, reason, q->userdata);
                return (void) request_free(q);
        }
        body = http_request_body(r, &size);
        k = s3_list_objects_parse(body, size, q->prefix, &root, &objects, &n, &next);
        if (k >= 0 && n > 0 && !(entries = calloc(n, sizeof *entries)))
                k = -ENOMEM;
        for (size_t i = 0; k >= 0 && i < n; i++)
                entries[i] = (BackendListEntry) { .key = objects[i].key, .size = objects[i].size,
                                                  .etag = objects[i].etag };
        if (k == -ENOMEM)
                q->list_done(q, k, NULL, 0, NULL, "out of memory", q->userdata);
        else if (k < 0)
                q->list_done(q, k, NULL, 0, NULL, "ListObjectsV2 answered with something that is not a listing of the prefix",
                             q->userdata);
        else
                q->list_done(q, 0, entries, n, next, NULL, q->userdata);
        request_free(q);
}

int backend_s3_list(Backend *b, const char *prefix, const char *continuation, backend_list_done_t cb,
                    void *userdata, BackendRequest **ret) {
        _cleanup_free_ char *query = NULL, *p = NULL, *t = NULL, *url = NULL;
        BackendRequest *q;

        p = s3_uri_escape(prefix, false);
        t = continuation ? s3_uri_escape(continuation, false) : NULL;
        if (!p || (continuation && !t))
                return -ENOMEM;
        /* Query parameters in the order SigV4's canonical request sorts them. */
        if (asprintf(&query, "%s%s%slist-type=2&max-keys=%d&prefix=%s", t ? "continuation-token=" : "", strempty(t),
                     t ? "&" : "", S3_LIST_PAGE, p) < 0)
                return -ENOMEM;
        url = object_url(b, NULL, query);
        q = calloc(1, sizeof *q);
        if (!url || !q) {
                free(q);
                return -ENOMEM;
        }
        *q = (BackendRequest) { .backend = b, .list_done = cb, .userdata = userdata, .prefix = strdup(prefix) };
        return start_get(q, url, S3_LIST_XML_MAX, on_list, ret);
}
