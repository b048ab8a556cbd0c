/* SPDX-License-Identifier: Apache-2.0 */
/* s3-answer.h: what an S3 store answers, read from the bytes alone (no request,
 * no upload's state), so that it can be fuzzed: the Error document,
 * InitiateMultipartUploadResult, ListPartsResult,
 * CompleteMultipartUploadResult and ListBucketResult (ListObjectsV2). The store is hostile until checked: nothing
 * here trusts a length, a count or a number it reads. */
#pragma once

#include "macro.h"
#include "xml.h"

#define S3_KEY_MAX 1024            /* S3's longest key, in bytes */

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

/* An object of a ListObjectsV2 page; key and etag (as sent, quotes and all;
 * NULL when absent) point into the page's element tree. */
typedef struct S3ListedObject {
        const char *key;
        uint64_t size;
        const char *etag;
} S3ListedObject;

/* A ListBucketResult asked for with prefix: every object's key is under prefix,
 * at most S3_KEY_MAX bytes and greater than the one before (S3 lists in
 * lexical order), every size a number; a truncated page names where the next
 * one starts. Else -EPROTO (the whole page is refused: a store that lists
 * other keys, or out of order, is not believed in part). On success *ret_root
 * is the tree the strings point into (xml_free() it after *ret), *ret the
 * *ret_n objects, *ret_next the continuation token (NULL: the last page). */
int s3_list_objects_parse(const char *body, size_t size, const char *prefix, XmlNode **ret_root,
                          S3ListedObject **ret, size_t *ret_n, const char **ret_next);
