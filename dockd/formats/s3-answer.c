/* SPDX-License-Identifier: Apache-2.0 */
/* s3-answer.c: see s3-answer.h. */
#include <limits.h>

#include "parse-util.h"
#include "s3-answer.h"

void s3_error_describe(long status, const char *body, size_t size, char *code, size_t code_size, char *buf,
                       size_t buf_size) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *c = NULL, *m = NULL;

        if (size > 0 && xml_parse(body, size, &root) >= 0 && streq(root->name, "Error")) {
                c = xml_child_text(root, "Code");
                m = xml_child_text(root, "Message");
        }
        snprintf(code, code_size, "%s", strempty(c));
        snprintf(buf, buf_size, "HTTP %ld%s%s%s%.160s%s", status, c ? " " : "", strempty(c), m ? " (" : "",
                 strempty(m), m ? ")" : "");
        for (char *s = buf; *s; s++)
                if ((unsigned char) *s < 0x20)
                        *s = ' ';
}

int s3_upload_id_parse(const char *body, size_t size, char **ret) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *id;

        if (xml_parse(body, size, &root) < 0 || !streq(root->name, "InitiateMultipartUploadResult") ||
            isempty(id = xml_child_text(root, "UploadId")))
                return -EPROTO;
        *ret = strdup(id);
        return *ret ? 0 : -ENOMEM;
}

int s3_list_parts_parse(const char *body, size_t size, s3_listed_part_t part, void *userdata,
                        unsigned *ret_next_marker) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *truncated, *marker;

        if (xml_parse(body, size, &root) < 0 || !streq(root->name, "ListPartsResult"))
                return -EPROTO;
        for (XmlNode *x = xml_child(root, "Part"); x; x = xml_next(x)) {
                const char *num = xml_child_text(x, "PartNumber"), *etag = xml_child_text(x, "ETag"),
                           *sz = xml_child_text(x, "Size");

                if (etag)
                        part(num ? (unsigned) MIN(strtoul(num, NULL, 10), (unsigned long) UINT_MAX) : 0, etag,
                             sz ? strtoull(sz, NULL, 10) : 0, userdata);
        }
        truncated = xml_child_text(root, "IsTruncated");
        marker = xml_child_text(root, "NextPartNumberMarker");
        *ret_next_marker = truncated && streq(truncated, "true") && marker
                                   ? (unsigned) MIN(strtoul(marker, NULL, 10), (unsigned long) UINT_MAX) : 0;
        return 0;
}

int s3_complete_result_parse(const char *body, size_t size, char **ret_etag) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *etag;

        if (xml_parse(body, size, &root) < 0)
                return -EBADMSG;
        if (streq(root->name, "Error"))
                return -EREMOTEIO;
        if (!streq(root->name, "CompleteMultipartUploadResult"))
                return -EPROTO;
        etag = xml_child_text(root, "ETag");
        *ret_etag = etag ? strdup(etag) : NULL;
        return !etag || *ret_etag ? 0 : -ENOMEM;
}

int s3_list_objects_parse(const char *body, size_t size, const char *prefix, XmlNode **ret_root,
                          S3ListedObject **ret, size_t *ret_n, const char **ret_next) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        _cleanup_free_ S3ListedObject *v = NULL;
        const char *truncated, *next = NULL, *prev = NULL;
        size_t k = 0, cap = 0;

        if (xml_parse(body, size, &root) < 0 || !streq(root->name, "ListBucketResult"))
                return -EPROTO;
        for (XmlNode *c = xml_child(root, "Contents"); c; c = xml_next(c)) {
                const char *key = xml_child_text(c, "Key"), *sz = xml_child_text(c, "Size");
                S3ListedObject o = { .key = key, .etag = xml_child_text(c, "ETag") };

                if (!key || !sz || strlen(key) > S3_KEY_MAX || !startswith(key, prefix) ||
                    parse_uint64(sz, &o.size) < 0 || (prev && strcmp(prev, key) >= 0))
                        return -EPROTO;
                prev = key;
                if (k == cap) {
                        S3ListedObject *nv = reallocarray(v, cap = cap ? 2 * cap : 64, sizeof *v);
                        if (!nv)
                                return -ENOMEM;
                        v = nv;
                }
                v[k++] = o;
        }
        truncated = xml_child_text(root, "IsTruncated");
        if (truncated && streq(truncated, "true")) {
                next = xml_child_text(root, "NextContinuationToken");
                if (isempty(next))
                        return -EPROTO;
        }
        *ret_root = TAKE_PTR(root);
        *ret = TAKE_PTR(v);
        *ret_n = k;
        *ret_next = next;
        return 0;
}
