/* SPDX-License-Identifier: Apache-2.0 */
/* s3-answer.h: what an S3 store answers, read from the bytes alone (no request,
 * no upload's state), so that it can be fuzzed: the Error document,
 * InitiateMultipartUploadResult, ListPartsResult and
 * CompleteMultipartUploadResult. The store is hostile until checked: nothing
 * here trusts a length, a count or a number it reads. */
#pragma once

#include "macro.h"

/* The error code of an answer (code, "" when the body is no Error document) and
 * one line that says what it was ("HTTP 404 NoSuchKey (message)"), control
 * characters replaced by spaces. */
void s3_error_describe(long status, const char *body, size_t size, char *code, size_t code_size, char *buf,
                       size_t buf_size);

/* The UploadId of an InitiateMultipartUploadResult; -EPROTO without one. */
int s3_upload_id_parse(const char *body, size_t size, char **ret);

/* A part a ListPartsResult names: its number, ETag (unquoted) and size. */
typedef void (*s3_listed_part_t)(unsigned number, const char *etag, uint64_t size, void *userdata);
/* Calls part for each part; *ret_next_marker is the marker of the next page,
 * 0 when this was the last. -EPROTO when it is no ListPartsResult. */
int s3_list_parts_parse(const char *body, size_t size, s3_listed_part_t part, void *userdata,
                        unsigned *ret_next_marker);

/* The ETag of a CompleteMultipartUploadResult (as sent, quotes and all; NULL
 * when it has none). -EBADMSG: not XML; -EREMOTEIO: an Error document (S3
 * answers 200 first and reports a failure in the body; s3_error_describe()
 * says which); -EPROTO: no CompleteMultipartUploadResult. */
int s3_complete_result_parse(const char *body, size_t size, char **ret_etag);
