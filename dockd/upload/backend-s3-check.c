/* SPDX-License-Identifier: Apache-2.0 */
/* backend-s3-check.c: the s3 backend's side for objects already stored: list a
 * prefix (ListObjectsV2, a page of 1000 keys per request), and stat an object
 * (HEAD: size, ETag and Object Lock headers; or a GET whose body is hashed as it
 * streams by, for a read-back), for reconciliation; a legal hold set after the
 * upload (GetObjectLockConfiguration, PutObjectLegalHold). Requests go through the backend's own client:
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
#include "xml.h"

#define S3_LIST_PAGE 1000
#define S3_LIST_XML_MAX (8 * MiB)

struct BackendRequest {
        Backend *backend;
        HttpRequest *http;
        char *prefix;              /* list */
        backend_stat_done_t stat_done;
        backend_list_done_t list_done;
        backend_get_done_t get_done;
        backend_done_t done;
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

/* A request of init's kind as a new signed method of url; NULL when out of
 * memory or the request cannot be made (then init's strings stay the caller's). */
static BackendRequest *request_new(const BackendRequest *init, const char *method, const char *url) {
        BackendRequest *q = url ? calloc(1, sizeof *q) : NULL;

        if (!q)
                return NULL;
        *q = *init;
        if (http_request_new(client(q->backend), method, url, &q->http) < 0) {
                free(q);
                return NULL;
        }
        return q;
}

/* Start q (r: how its preparation went); on failure q is freed. */
static int request_start(BackendRequest *q, int r, http_done_t done, BackendRequest **ret) {
        if (r >= 0)
                r = http_request_start(q->http, done, q);
        if (r < 0) {
                request_free(q);
                return r;
        }
        *ret = q;
        return 0;
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
        BackendRequest *q = request_new(&(BackendRequest) { .backend = b, .stat_done = cb, .userdata = userdata,
                                                            .read_back = spec->read_back },
                                        spec->read_back ? "GET" : "HEAD", url);
        int r = 0;

        if (!q)
                return -ENOMEM;
        if (spec->read_back)
                r = http_request_hash_body(q->http, EVP_sha256());
        if (r >= 0)
                r = s3_add_payload_hash(q->http, NULL);
        return request_start(q, r, on_stat, ret);
}

/* Start a request of init's kind (its prefix set: the key or prefix, NULL when
 * out of memory) as a signed GET of url keeping at most max bytes of the
 * answer (more fails it with -EFBIG: never read beyond). On failure init's
 * prefix is freed. */
static int start_get(const BackendRequest *init, const char *url, size_t max, http_done_t done,
                     BackendRequest **ret) {
        BackendRequest *q = init->prefix ? request_new(init, "GET", url) : NULL;

        if (!q) {
                free(init->prefix);
                return -ENOMEM;
        }
        http_request_keep_body(q->http, max);
        return request_start(q, s3_add_payload_hash(q->http, NULL), done, ret);
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

        /* prefix holds the key, for the log. */
        return start_get(&(BackendRequest) { .backend = b, .get_done = cb, .userdata = userdata, .prefix = strdup(key) },
                         url, max, on_get, ret);
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

        p = s3_uri_escape(prefix, false);
        t = continuation ? s3_uri_escape(continuation, false) : NULL;
        if (!p || (continuation && !t))
                return -ENOMEM;
        /* Query parameters in the order SigV4's canonical request sorts them. */
        if (asprintf(&query, "%s%s%slist-type=2&max-keys=%d&prefix=%s", t ? "continuation-token=" : "", strempty(t),
                     t ? "&" : "", S3_LIST_PAGE, p) < 0)
                return -ENOMEM;
        url = object_url(b, NULL, query);
        return start_get(&(BackendRequest) { .backend = b, .list_done = cb, .userdata = userdata,
                                             .prefix = strdup(prefix) },
                         url, S3_LIST_XML_MAX, on_list, ret);
}

/* ---- legal hold after the upload ---- */

static void on_lock_config(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *body;
        char reason[200];
        size_t n = 0;

        if (error < 0 || http_request_status(r) >= 500) {
                answer_reason(r, error, reason, sizeof reason);
                q->done(q, error < 0 ? error : -EREMOTEIO, reason, q->userdata);
                return (void) request_free(q);
        }
        body = http_request_body(r, &n);
        if (http_request_status(r) != 200 || xml_parse(body, n, &root) < 0 ||
            !streq(root->name, "ObjectLockConfiguration"))
                q->done(q, -EOPNOTSUPP, "the store does not report Object Lock (GetObjectLockConfiguration)",
                        q->userdata);
        else if (!streq_ptr(xml_child_text(root, "ObjectLockEnabled"), "Enabled"))
                q->done(q, -EOPNOTSUPP, "the bucket does not have Object Lock enabled", q->userdata);
        else
                q->done(q, 0, NULL, q->userdata);
        request_free(q);
}

int backend_s3_object_lock_enabled(Backend *b, backend_done_t cb, void *userdata, BackendRequest **ret) {
        _cleanup_free_ char *url = object_url(b, NULL, "object-lock=");

        return start_get(&(BackendRequest) { .backend = b, .done = cb, .userdata = userdata,
                                             .prefix = strdup("object-lock") },
                         url, 64 * 1024, on_lock_config, ret);
}

static void on_legal_hold(HttpRequest *r, int error, void *userdata) {
        BackendRequest *q = userdata;
        long status = http_request_status(r);
        char code[64], why[256];

        if (error < 0)
                q->done(q, error, strna(http_request_error(r)), q->userdata);
        else if (status != 200 && status != 204) {
                s3_describe_error(r, code, sizeof code, why, sizeof why);
                q->done(q, s3_status_error(status, code), why, q->userdata);
        } else
                q->done(q, 0, NULL, q->userdata);
        request_free(q);
}

int backend_s3_set_legal_hold(Backend *b, const char *key, backend_done_t cb, void *userdata, BackendRequest **ret) {
        _cleanup_free_ char *url = object_url(b, key, "legal-hold=");
        BackendRequest *q = request_new(&(BackendRequest) { .backend = b, .done = cb, .userdata = userdata }, "PUT",
                                        url);

        if (!q)
                return -ENOMEM;
        return request_start(q, s3_lock_request_body(q->http, b->config, 0, true), on_legal_hold, ret);
}
