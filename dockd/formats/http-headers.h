/* SPDX-License-Identifier: Apache-2.0 */
/* http-headers.h: the header lines of an HTTP answer as libcurl hands them
 * over, one line at a time (upload/http.c), kept for the backends to look up.
 * Pure code over the server's bytes, so that it can be fuzzed. */
#pragma once

#include "macro.h"

#define HTTP_HEADERS_MAX 128               /* nothing we look at is further down */
#define HTTP_HEADER_LINE_MAX (8 * KiB)     /* nor longer */

typedef struct HttpHeaders {
        char **lines;       /* "Name: value", without the line end */
        size_t n;
} HttpHeaders;

/* One line as received, line end included. A status line ("HTTP/…", a new
 * answer after "100 Continue") forgets the lines before it; a line without ':',
 * past HTTP_HEADERS_MAX or longer than HTTP_HEADER_LINE_MAX is ignored.
 * -ENOMEM only. */
int http_headers_add_line(HttpHeaders *h, const char *buf, size_t size);
/* The value of the first header named name (case-insensitive), without the
 * blanks before it; NULL if absent. Valid until the next add or clear. */
const char *http_headers_get(const HttpHeaders *h, const char *name);
void http_headers_clear(HttpHeaders *h);
/* Whether a header value in RFC 9110's list syntax (elements separated by
 * commas, optional blanks around them, empty elements allowed) has an element
 * that is exactly token, compared case-insensitively: "sha256" is in
 * "md5 , SHA256", but not in "nochecksum" or "sha2567". list may be NULL (the
 * header is absent). */
bool http_list_has_token(const char *list, const char *token);
void http_headers_done(HttpHeaders *h);
