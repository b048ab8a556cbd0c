/* SPDX-License-Identifier: Apache-2.0 */
/* backend-s3-check.h: what the s3 backend's two files share: backend-s3.c (puts) and
 * backend-s3-check.c (list and stat, for reconciliation). Only backend.c and
 * these two include it. */
#pragma once

#include "backend.h"
#include "http.h"

#define BACKEND_S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The backend's HTTP client (SigV4, TLS, bandwidth cap). */
HttpClient *backend_s3_http_client(Backend *b);
/* The URL of key (NULL: the bucket itself), with query (NULL: none) already
 * escaped and in SigV4's order. Caller frees. */
char *backend_s3_object_url(Backend *b, const char *key, const char *query);
/* RFC 3986 unreserved characters kept, everything else %XX (also '/'). */
char *backend_s3_uri_escape(const char *s);

int backend_s3_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                    BackendRequest **ret);
int backend_s3_list(Backend *b, const char *prefix, const char *continuation, backend_list_done_t cb,
                    void *userdata, BackendRequest **ret);
void backend_s3_request_cancel(BackendRequest *q);
