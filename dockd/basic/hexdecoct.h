/* SPDX-License-Identifier: Apache-2.0 */
/* hexdecoct.h: bytes as text and back: lower-case hex (hashes in manifests,
 * state files, custody records, S3 ETags) and standard base64 with padding
 * (HTTP checksum headers, custody signatures). Decoding accepts one spelling
 * only, so that no two strings stand for the same bytes. */
#pragma once

#include "macro.h"

/* Buffer sizes, terminating NUL included. */
#define HEX_SIZE(n) (2 * (n) + 1)
#define BASE64_SIZE(n) (4 * (((n) + 2) / 3) + 1)

/* Both return buf. */
char *hexmem(const void *data, size_t n, char *buf);
char *base64mem(const void *data, size_t n, char *buf);

/* Exactly 2n lower-case hex digits: -EINVAL otherwise (ret untouched). */
int unhexmem(const char *s, void *ret, size_t n);
/* Canonical base64 of at most max bytes: -EBADMSG otherwise. */
int unbase64mem(const char *s, void *ret, size_t max, size_t *ret_size);
