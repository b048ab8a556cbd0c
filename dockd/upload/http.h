/* SPDX-License-Identifier: Apache-2.0 */
/* http.h: one HTTP request to central storage on the event loop (curl-glue.h):
 * the body streamed from a file range or a small buffer, under the shared
 * bandwidth cap; the answer's status, headers, and body (kept in memory up to a
 * limit, or hashed as it streams by for read-backs). TLS is always verified. */
#pragma once

#include <openssl/evp.h>
#include <strings.h>

#include "curl-glue.h"
#include "hexdecoct.h"
#include "ratelimit.h"

typedef struct HttpClient HttpClient;
typedef struct HttpRequest HttpRequest;

typedef struct HttpClientConfig {
        const char *ca_file;          /* NULL: the system's CAs */
        usec_t timeout;               /* connecting, or a transfer making no progress */
        usec_t connect_timeout;       /* connecting, if other than timeout */
        usec_t total_timeout;         /* the whole request; 0: no limit */
        uint64_t bandwidth_limit;     /* upload bytes per second, 0: none */
        const char *aws_sigv4;        /* "aws:amz:REGION:s3": sign with SigV4 */
        const char *username;         /* SigV4 access key (borrowed) */
        const char *password;         /* SigV4 secret (borrowed) */
        char *const *extra_headers;   /* "Name: value", NULL-terminated (borrowed) */
} HttpClientConfig;

int http_client_new(sd_event *event, const HttpClientConfig *config, HttpClient **ret);
HttpClient *http_client_free(HttpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpClient *, http_client_free);
/* Replace the borrowed credentials (after they were read again). */
void http_client_set_credentials(HttpClient *c, const char *username, const char *password,
                                 char *const *extra_headers);

/* error: 0 when an answer arrived (whatever its status); negative errno when
 * none did (connection refused or reset, timeout, TLS failure, local file
 * unreadable), with http_request_error() saying why. */
typedef void (*http_done_t)(HttpRequest *r, int error, void *userdata);

/* Request body bytes handed to connections so far, resends included. */
uint64_t http_client_bytes_sent(HttpClient *c);

int http_request_new(HttpClient *c, const char *method, const char *url, HttpRequest **ret);
/* Stops it if it runs; the callback is not called. */
HttpRequest *http_request_free(HttpRequest *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpRequest *, http_request_free);

int http_request_add_header(HttpRequest *r, const char *fmt, ...) _printf_(2, 3);
/* The body: length bytes of fd from offset (fd borrowed, must stay open). */
void http_request_set_body_file(HttpRequest *r, int fd, uint64_t offset, uint64_t length);
int http_request_set_body(HttpRequest *r, const void *data, size_t size);
/* Keep at most max bytes of the answer's body (more fails the request). */
void http_request_keep_body(HttpRequest *r, size_t max);
/* Hash the answer's body with md as it arrives instead of keeping it. */
int http_request_hash_body(HttpRequest *r, const EVP_MD *md);

int http_request_start(HttpRequest *r, http_done_t done, void *userdata);

long http_request_status(HttpRequest *r);
/* An answer header (name case-insensitive), value trimmed; NULL if absent. */
const char *http_request_header(HttpRequest *r, const char *name);
const char *http_request_body(HttpRequest *r, size_t *ret_size);
/* After http_request_hash_body(): the digest (32 bytes for SHA-256) and length. */
int http_request_body_digest(HttpRequest *r, uint8_t *ret, unsigned *ret_len, uint64_t *ret_size);
const char *http_request_error(HttpRequest *r);
/* Body bytes handed to the connection so far. */
uint64_t http_request_bytes_sent(HttpRequest *r);
const char *http_request_method(HttpRequest *r);

#define strcaseeq(a, b) (strcasecmp((a), (b)) == 0)
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}
