/* SPDX-License-Identifier: Apache-2.0 */
/* s3-protocol.h: the parts of S3's REST API that the s3 backend speaks and
 * that need no upload's state: URLs in the canonical form SigV4 signs, the
 * headers that describe an object (with Object Lock), what an error answer
 * means, and the CompleteMultipartUpload document. What the store answers is
 * read by s3-answer.h (formats/, fuzzed). */
#pragma once

#include "dockd-config.h"
#include "http.h"
#include "s3-answer.h"

/* The SHA-256 of no bytes, the payload hash of a request without a body. */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The bucket's URL, without a trailing '/': https://host[:port][/path]/bucket
 * (path style) or https://bucket.host[:port][/path] (virtual host). */
char *s3_bucket_url(const DockdConfig *c);
/* Percent-encode all but RFC 3986's unreserved characters (and '/' when
 * keep_slash: object keys). */
char *s3_uri_escape(const char *s, bool keep_slash);
/* An ETag header (quoted or not) is want, case aside. */
bool s3_etag_equal(const char *header, const char *want);

/* The error code of an answer and one line that says what it was
 * (s3_error_describe() over its status and body). */
void s3_describe_error(HttpRequest *r, char *code, size_t code_size, char *buf, size_t size);
/* What a refusal means for the uploader: -EACCES, -ENXIO (no bucket), -EBUSY
 * (slow down), -EREMOTEIO (server error), -EPERM (a 4xx the same request
 * will get again), -EPROTO (anything else). */
int s3_status_error(long status, const char *code);

/* x-amz-content-sha256: the SHA-256 of the body (NULL: no body). */
int s3_add_payload_hash(HttpRequest *r, const uint8_t sha256[32]);
/* The headers that describe an object, on CreateMultipartUpload and PutObject
 * only: its type, its SHA-256 as metadata, and Object Lock retention and legal
 * hold when [s3] object_lock=yes. */
int s3_add_object_headers(HttpRequest *r, const DockdConfig *c, const char *content_type, const uint8_t sha256[32],
                          usec_t retain_until, bool legal_hold);

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
/* The body of PutObjectRetention (legal_hold false: [s3] object_lock_mode until
 * retain_until) or of PutObjectLegalHold (legal_hold true: ON). */
int s3_lock_document(const DockdConfig *c, usec_t retain_until, bool legal_hold, char **ret);
/* Give r (a PUT ?retention= or ?legal-hold=) that document as its body, with
 * its payload hash, Content-MD5 and Content-Type. */
int s3_lock_request_body(HttpRequest *r, const DockdConfig *c, usec_t retain_until, bool legal_hold);

/* The parts of a CompleteMultipartUpload document: the i-th part's number, MD5
 * (its ETag) and SHA-256 (its checksum, left out without with_checksums). */
typedef void (*s3_part_digests_t)(size_t i, unsigned *ret_number, const uint8_t **ret_md5,
                                  const uint8_t **ret_sha256, void *userdata);
int s3_complete_document(size_t n_parts, s3_part_digests_t part, void *userdata, bool with_checksums, char **ret,
                         size_t *ret_size);
