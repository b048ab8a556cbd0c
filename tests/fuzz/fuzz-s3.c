/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz what an S3 store answers (s3-answer.h over xml.h): the same body is read
 * as each document the s3 backend expects, as it would be after any request:
 * an Error, an InitiateMultipartUploadResult, a ListPartsResult, a
 * CompleteMultipartUploadResult and a ListBucketResult (ListObjectsV2, read by
 * reconciliation). Beyond "no crash, no leak, no overread": the element tree
 * stays within its limits, what is handed on is a string, the one-line
 * description of an error is one line, and an accepted listing holds only keys
 * under its prefix, in increasing order. */
#include <string.h>

#include "fuzz.h"
#include "s3-answer.h"
#include "xml.h"

static size_t tree_check(const XmlNode *n, unsigned depth) {
        size_t count = 0;

        for (; n; n = n->next) {
                fuzz_check(depth <= 16);
                fuzz_check(n->name && n->text);
                /* XML has no NUL character, so the text is exactly text_len bytes */
                fuzz_check(strlen(n->text) == n->text_len);
                fuzz_check(n->text_len <= 64 * 1024);
                fuzz_check(!n->children == !n->last_child);
                for (const XmlNode *c = n->children; c; c = c->next)
                        fuzz_check(c->parent == n);
                count += 1 + tree_check(n->children, depth + 1);
        }
        return count;
}

static void on_part(unsigned number, const char *etag, uint64_t size, void *userdata) {
        size_t *n = userdata;

        fuzz_check(etag);
        (*n)++;
}

static void list_objects_check(const char *body, size_t size, const char *prefix) {
        XmlNode *root = NULL;
        S3ListedObject *v = NULL;
        const char *next = NULL;
        size_t n = 0;
        int r;

        r = s3_list_objects_parse(body, size, prefix, &root, &v, &n, &next);
        fuzz_check(r == 0 || r == -EPROTO);
        if (r < 0) {
                fuzz_check(!root && !v && n == 0 && !next);
                return;
        }
        fuzz_check(root && (n == 0 || v));
        fuzz_check(!next || *next);
        for (size_t i = 0; i < n; i++) {
                fuzz_check(strncmp(v[i].key, prefix, strlen(prefix)) == 0);
                fuzz_check(strlen(v[i].key) <= S3_KEY_MAX);
                fuzz_check(i == 0 || strcmp(v[i - 1].key, v[i].key) < 0);
        }
        free(v);
        xml_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *body = (const char *) data;
        XmlNode *root = NULL;
        char code[64], why[256], *s = NULL;
        unsigned marker = 0;
        size_t parts = 0;
        int r;

        r = xml_parse(body, size, &root);
        fuzz_check(r == 0 || r == -EBADMSG || r == -E2BIG);
        if (r == 0) {
                fuzz_check(root && !root->parent && !root->next);
                fuzz_check(tree_check(root, 1) <= 100000);
                xml_free(root);
        }

        s3_error_describe(404, body, size, code, sizeof code, why, sizeof why);
        fuzz_check(strlen(code) < sizeof code);
        fuzz_check(strncmp(why, "HTTP 404", 8) == 0);
        for (const char *c = why; *c; c++)
                fuzz_check((unsigned char) *c >= 0x20);

        r = s3_upload_id_parse(body, size, &s);
        fuzz_check(r == 0 || r == -EPROTO);
        if (r == 0) {
                fuzz_check(s && *s);
                free(s);
        }

        r = s3_list_parts_parse(body, size, on_part, &parts, &marker);
        fuzz_check(r == 0 || r == -EPROTO);
        fuzz_check(r == 0 || parts == 0);

        s = NULL;
        r = s3_complete_result_parse(body, size, &s);
        fuzz_check(r == 0 || r == -EBADMSG || r == -EREMOTEIO || r == -EPROTO);
        fuzz_check(r == 0 || !s);
        free(s);

        list_objects_check(body, size, "evidence/");
        list_objects_check(body, size, "");
        return 0;
}
