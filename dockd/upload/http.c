/* SPDX-License-Identifier: Apache-2.0 */
/* http.c: see http.h. One easy handle per request; connections are kept in the
 * multi handle's cache and reused. Nothing here logs above debug: the backends
 * decide what a failure means. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "config.h"
#include "fileio.h"
#include "http-headers.h"
#include "http.h"
#include "log.h"

#define HTTP_DEFAULT_BODY_MAX (64 * KiB)
/* An answer (all of it, once the request's body is sent) must come within
 * ANSWER_DEADLINE_FACTOR times [section] timeout, and never less than
 * ANSWER_DEADLINE_MIN: a server trickling a byte now and then makes progress
 * enough for the low-speed limit, and would hold the request for ever. A body
 * hashed as it streams (a read-back of an object) is exempt: its length is
 * the object's. */
#define ANSWER_DEADLINE_FACTOR 10
#define ANSWER_DEADLINE_MIN (10 * USEC_PER_SEC)
#define HTTP_UPLOAD_BUFFER (512 * KiB)
#define HTTP_RECEIVE_BUFFER (256 * KiB)

struct HttpClient {
        sd_event *event;
        CurlGlue *glue;
        RateLimit *ratelimit;
        char *ca_file;
        char *aws_sigv4;
        usec_t timeout;
        usec_t connect_timeout;
        usec_t total_timeout;
        const char *username;
        const char *password;
        char *const *extra_headers;
        uint64_t bytes_sent;           /* request bodies, resends included (metrics) */
};

struct HttpRequest {
        HttpClient *client;
        CURL *curl;
        struct curl_slist *headers;
        char *method;
        char *url;
        bool running;

        /* request body: a file range or a buffer */
        int body_fd;
        uint64_t body_offset;
        uint64_t body_length;
        uint64_t body_sent;
        char *body_data;
        bool has_body;
        RateLimitWaiter waiter;
        bool paused;

        /* answer */
        HttpHeaders resp_headers;
        char *resp_body;
        size_t resp_size;
        size_t resp_max;
        bool resp_strict;
        EVP_MD_CTX *resp_md;
        uint64_t resp_hashed;
        bool resp_cut;                /* a body not kept beyond resp_max: not read further */
        usec_t answer_wait_since;     /* CLOCK_MONOTONIC: the request was sent, no full answer yet */
        int local_error;
        char errbuf[CURL_ERROR_SIZE];
        char *error;

        http_done_t done;
        void *userdata;
};

int http_client_new(sd_event *event, const HttpClientConfig *config, HttpClient **ret) {
        _cleanup_(http_client_freep) HttpClient *c = NULL;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->timeout = config->timeout;
        c->connect_timeout = config->connect_timeout ?: config->timeout;
        c->total_timeout = config->total_timeout;
        c->username = config->username;
        c->password = config->password;
        c->extra_headers = config->extra_headers;
        if ((config->ca_file && !(c->ca_file = strdup(config->ca_file))) ||
            (config->aws_sigv4 && !(c->aws_sigv4 = strdup(config->aws_sigv4))))
                return -ENOMEM;
        r = curl_glue_new(event, &c->glue);
        if (r < 0)
                return r;
        if (config->bandwidth_limit > 0) {
                r = ratelimit_new(event, config->bandwidth_limit, &c->ratelimit);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

HttpClient *http_client_free(HttpClient *c) {
        if (!c)
                return NULL;
        curl_glue_free(c->glue);
        ratelimit_free(c->ratelimit);
        sd_event_unref(c->event);
        free(c->ca_file);
        free(c->aws_sigv4);
        free(c);
        return NULL;
}

void http_client_set_credentials(HttpClient *c, const char *username, const char *password,
                                 char *const *extra_headers) {
        c->username = username;
        c->password = password;
        c->extra_headers = extra_headers;
}

HttpRequest *http_request_free(HttpRequest *r) {
        if (!r)
                return NULL;
        if (r->running)
                curl_glue_remove(r->client->glue, r->curl);
        ratelimit_cancel(&r->waiter);
        if (r->curl)
                curl_easy_cleanup(r->curl);
        curl_slist_free_all(r->headers);
        http_headers_done(&r->resp_headers);
        free(r->resp_body);
        EVP_MD_CTX_free(r->resp_md);
        free(r->body_data);
        free(r->method);
        free(r->url);
        free(r->error);
        free(r);
        return NULL;
}

/* ---- libcurl callbacks ---- */

static void on_ratelimit_wake(RateLimitWaiter *w, void *userdata) {
        HttpRequest *r = userdata;

        if (r->paused && r->running) {
                r->paused = false;
                (void) curl_easy_pause(r->curl, CURLPAUSE_CONT);
        }
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
        HttpRequest *r = userdata;
        uint64_t left = r->body_length - r->body_sent;
        size_t want = (size_t) MIN((uint64_t) size * nitems, left), n;
        ssize_t k;

        if (want == 0)
                return 0;
        if (r->body_data) {
                memcpy(buf, r->body_data + r->body_sent, want);
                r->body_sent += want;
                r->client->bytes_sent += want;
                return want;
        }
        n = ratelimit_take(r->client->ratelimit, want);
        if (n == 0) {
                r->paused = true;
                ratelimit_wait(r->client->ratelimit, &r->waiter, on_ratelimit_wake, r);
                return CURL_READFUNC_PAUSE;
        }
        k = pread_all(r->body_fd, buf, n, (off_t) (r->body_offset + r->body_sent));
        if (k <= 0) {
                r->local_error = k < 0 ? (int) k : -ENODATA;
                snprintf(r->errbuf, sizeof r->errbuf, "reading the local file at byte %" PRIu64 ": %s",
                         r->body_offset + r->body_sent,
                         k < 0 ? strerror((int) -k) : "it is shorter than expected");
                return CURL_READFUNC_ABORT;
        }
        r->body_sent += (uint64_t) k;
        r->client->bytes_sent += (uint64_t) k;
        return (size_t) k;
}

static int on_seek(void *userdata, curl_off_t offset, int origin) {
        HttpRequest *r = userdata;

        if (origin != SEEK_SET || offset < 0 || (uint64_t) offset > r->body_length)
                return CURL_SEEKFUNC_CANTSEEK;
        r->body_sent = (uint64_t) offset;
        return CURL_SEEKFUNC_OK;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata) {
        HttpRequest *r = userdata;
        size_t n = size * nitems;

        /* A new answer (after "100 Continue") forgets the previous one's headers. */
        return http_headers_add_line(&r->resp_headers, buf, n) < 0 ? 0 : n;
}

static size_t on_write(char *buf, size_t size, size_t nitems, void *userdata) {
        HttpRequest *r = userdata;
        size_t n = size * nitems, keep;
        char *b;

        if (r->resp_md) {
                if (!EVP_DigestUpdate(r->resp_md, buf, n))
                        return 0;
                r->resp_hashed += n;
                return n;
        }
        if (r->resp_size + n > r->resp_max) {
                if (r->resp_strict) {
                        r->local_error = -EFBIG;
                        snprintf(r->errbuf, sizeof r->errbuf, "the answer is larger than %zu bytes", r->resp_max);
                        return 0;
                }
                keep = r->resp_max - r->resp_size;
        } else
                keep = n;
        if (keep == 0) {
                /* What is not kept is not read either: an endless body ends here. */
                r->resp_cut = true;
                return 0;
        }
        b = realloc(r->resp_body, r->resp_size + keep + 1);
        if (!b)
                return 0;
        memcpy(b + r->resp_size, buf, keep);
        r->resp_size += keep;
        b[r->resp_size] = 0;
        r->resp_body = b;
        return n;
}

/* The answer deadline (ANSWER_DEADLINE_*), checked as libcurl reports progress. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        HttpRequest *r = userdata;
        usec_t t, deadline;

        if (sd_event_now(r->client->event, CLOCK_MONOTONIC, &t) < 0)
                return 0;
        if (r->resp_md || (ultotal > 0 && ulnow < ultotal))
                return 0;
        if (r->answer_wait_since == 0) {
                r->answer_wait_since = t;
                return 0;
        }
        deadline = MAX(ANSWER_DEADLINE_FACTOR * r->client->timeout, ANSWER_DEADLINE_MIN);
        if (t - r->answer_wait_since < deadline)
                return 0;
        r->local_error = -ETIMEDOUT;
        snprintf(r->errbuf, sizeof r->errbuf, "no complete answer within %.0fs of the request",
                 (double) deadline / USEC_PER_SEC);
        return 1;
}

/* ---- setup ---- */

int http_request_new(HttpClient *c, const char *method, const char *url, HttpRequest **ret) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        long timeout_s = (long) MAX(c->timeout / USEC_PER_SEC, (usec_t) 1);

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->client = c;
        r->body_fd = -EBADF;
        r->resp_max = HTTP_DEFAULT_BODY_MAX;
        r->method = strdup(method);
        r->url = strdup(url);
        r->curl = curl_easy_init();
        if (!r->method || !r->url || !r->curl)
                return -ENOMEM;
        if (curl_easy_setopt(r->curl, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            (c->ca_file && curl_easy_setopt(r->curl, CURLOPT_CAINFO, c->ca_file) != CURLE_OK) ||
            curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, (long) (c->connect_timeout / USEC_PER_MSEC)) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long) (c->total_timeout / USEC_PER_MSEC)) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_TIME, timeout_s) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_XFERINFODATA, r) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "dockd/" PACKAGE_VERSION) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_HEADERDATA, r) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_READFUNCTION, on_read) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_READDATA, r) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_SEEKFUNCTION, on_seek) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_SEEKDATA, r) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_UPLOAD_BUFFERSIZE, (long) HTTP_UPLOAD_BUFFER) != CURLE_OK ||
            curl_easy_setopt(r->curl, CURLOPT_BUFFERSIZE, (long) HTTP_RECEIVE_BUFFER) != CURLE_OK)
                return -EIO;
        if (c->aws_sigv4 &&
            (curl_easy_setopt(r->curl, CURLOPT_AWS_SIGV4, c->aws_sigv4) != CURLE_OK ||
             /* USERNAME/PASSWORD, not USERPWD: access keys may contain ':' (Swift's "account:user"). */
             curl_easy_setopt(r->curl, CURLOPT_USERNAME, c->username ?: "") != CURLE_OK ||
             curl_easy_setopt(r->curl, CURLOPT_PASSWORD, c->password ?: "") != CURLE_OK))
                return -EIO;
        for (char *const *h = c->extra_headers; h && *h; h++) {
                struct curl_slist *l = curl_slist_append(r->headers, *h);
                if (!l)
                        return -ENOMEM;
                r->headers = l;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int http_request_add_header(HttpRequest *r, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        struct curl_slist *l;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        l = curl_slist_append(r->headers, line);
        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

void http_request_set_body_file(HttpRequest *r, int fd, uint64_t offset, uint64_t length) {
        r->body_fd = fd;
        r->body_offset = offset;
        r->body_length = length;
        r->has_body = true;
}

int http_request_set_body(HttpRequest *r, const void *data, size_t size) {
        char *copy = memdup(data, size);

        if (!copy)
                return -ENOMEM;
        free(r->body_data);
        r->body_data = copy;
        r->body_length = size;
        r->has_body = true;
        return 0;
}

void http_request_keep_body(HttpRequest *r, size_t max) {
        r->resp_max = max;
        r->resp_strict = true;
}

int http_request_hash_body(HttpRequest *r, const EVP_MD *md) {
        EVP_MD_CTX_free(r->resp_md);
        r->resp_md = EVP_MD_CTX_new();
        if (!r->resp_md)
                return -ENOMEM;
        if (!EVP_DigestInit_ex(r->resp_md, md, NULL))
                return -EIO;
        r->resp_hashed = 0;
        return 0;
}

static int map_curl_error(HttpRequest *r, CURLcode code) {
        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return -ECONNRESET;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
                return -EPROTO;
        case CURLE_READ_ERROR:
        case CURLE_ABORTED_BY_CALLBACK:
        case CURLE_WRITE_ERROR:
                return r->local_error ?: -EIO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

static void on_done(CurlGlue *g, CURL *c, CURLcode code, void *userdata) {
        HttpRequest *r = userdata;
        int error;

        r->running = false;
        ratelimit_cancel(&r->waiter);
        /* The answer is there; only the part of its body we do not keep is not. */
        error = code == CURLE_WRITE_ERROR && r->resp_cut ? 0 : map_curl_error(r, code);
        if (error < 0) {
                const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
                if (asprintf(&r->error, "%s%s", error == -EPROTO ? "TLS: " : "", why) < 0)
                        r->error = NULL;
        }
        log_debug("HTTP %s %s: %s (%.3fs)", r->method, r->url,
                  error < 0 ? strna(r->error) : "answered",
                  ({ double t = 0; (void) curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &t); t; }));
        r->done(r, error, r->userdata);
}

int http_request_start(HttpRequest *r, http_done_t done, void *userdata) {
        CURL *c = r->curl;
        bool ok = true;
        int k;

        if (streq(r->method, "HEAD"))
                ok = curl_easy_setopt(c, CURLOPT_NOBODY, 1L) == CURLE_OK;
        else if (streq(r->method, "PUT") || streq(r->method, "PATCH")) {
                ok = curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
                     curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) r->body_length) == CURLE_OK;
                if (ok && streq(r->method, "PATCH"))
                        ok = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH") == CURLE_OK;
        } else if (streq(r->method, "POST")) {
                ok = curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
                     curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_length) == CURLE_OK;
                if (ok && !r->has_body)
                        ok = curl_easy_setopt(c, CURLOPT_POSTFIELDS, "") == CURLE_OK;
        } else if (!streq(r->method, "GET"))
                ok = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method) == CURLE_OK;
        if (ok && r->headers)
                ok = curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
        if (!ok)
                return -EIO;
        r->done = done;
        r->userdata = userdata;
        r->body_sent = 0;
        r->local_error = 0;
        r->resp_cut = false;
        r->answer_wait_since = 0;
        k = curl_glue_add(r->client->glue, c, on_done, r);
        if (k < 0)
                return k;
        r->running = true;
        return 0;
}

long http_request_status(HttpRequest *r) {
        long status = 0;

        (void) curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
        return status;
}

const char *http_request_header(HttpRequest *r, const char *name) {
        return http_headers_get(&r->resp_headers, name);
}

const char *http_request_body(HttpRequest *r, size_t *ret_size) {
        if (ret_size)
                *ret_size = r->resp_size;
        return r->resp_body ?: "";
}

int http_request_body_digest(HttpRequest *r, uint8_t *ret, unsigned *ret_len, uint64_t *ret_size) {
        unsigned len = 0;

        if (!r->resp_md)
                return -EINVAL;
        if (!EVP_DigestFinal_ex(r->resp_md, ret, &len))
                return -EIO;
        if (ret_len)
                *ret_len = len;
        if (ret_size)
                *ret_size = r->resp_hashed;
        return 0;
}

const char *http_request_error(HttpRequest *r) {
        return r->error;
}

uint64_t http_request_bytes_sent(HttpRequest *r) {
        return r->body_sent;
}

const char *http_request_method(HttpRequest *r) {
        return r->method;
}

uint64_t http_client_bytes_sent(HttpClient *c) {
        return c ? c->bytes_sent : 0;
}
