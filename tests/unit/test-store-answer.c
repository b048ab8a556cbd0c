/* SPDX-License-Identifier: Apache-2.0 */
/* What central storage answers, read by the pure functions of formats/
 * (http-headers.h, tus-answer.h, s3-answer.h): the list syntax of header values
 * and the documents a hostile store may bend. */
#include <glib.h>

#include "http-headers.h"
#include "s3-answer.h"
#include "tus-answer.h"

static void test_list_token(void) {
        static const struct {
                const char *list;
                bool has;
        } cases[] = {
                { "sha256", true },
                { "md5,sha1,sha256", true },
                { "md5 , SHA256\t, sha1", true },
                { ",, ,sha256,", true },
                { "\tSha256 ", true },
                /* Substrings of other elements are not the token. */
                { "sha2567", false },
                { "nosha256", false },
                { "sha-256, sha512", false },
                { "sha 256", false },
                { "sha256x,md5", false },
                { "", false },
                { " , ,", false },
                { NULL, false },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_test_message("\"%s\"", cases[i].list ?: "(absent)");
                g_assert_cmpint(http_list_has_token(cases[i].list, "sha256"), ==, cases[i].has);
        }
        g_assert_false(http_list_has_token("anything", ""));
}

static void test_tus_announces_sha256(void) {
        static const struct {
                const char *extensions, *algorithms;
                bool announced;
        } cases[] = {
                { "creation,termination,checksum", "md5,sha1,sha256", true },
                { "Creation, Checksum", "SHA256", true },
                { "creation,nochecksum", "sha256", false },
                { "checksum-trailer", "sha256", false },
                { "creation,checksum", "sha2567", false },
                { "creation,checksum", "md5,nosha256", false },
                { "creation,checksum", NULL, false },
                { NULL, "sha256", false },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_test_message("\"%s\" \"%s\"", cases[i].extensions ?: "(absent)", cases[i].algorithms ?: "(absent)");
                g_assert_cmpint(tus_announces_sha256(cases[i].extensions, cases[i].algorithms), ==, cases[i].announced);
        }
}

#define LISTING(truncated, contents) \
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult " \
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Prefix>evidence/</Prefix>" truncated contents \
        "</ListBucketResult>"
#define OBJECT(key, size) "<Contents><Key>" key "</Key><ETag>&quot;aa&quot;</ETag><Size>" size "</Size></Contents>"

static int list(const char *doc, S3ListedObject **ret, size_t *ret_n, const char **ret_next, XmlNode **ret_root) {
        return s3_list_objects_parse(doc, strlen(doc), "evidence/", ret_root, ret, ret_n, ret_next);
}

static void test_s3_list_objects(void) {
        static const char *const refused[] = {
                LISTING("", OBJECT("evidence/b", "1") OBJECT("evidence/a", "1")),        /* out of order */
                LISTING("", OBJECT("evidence/a", "1") OBJECT("evidence/a", "1")),        /* twice */
                LISTING("", OBJECT("reports/a", "1")),                                   /* not under the prefix */
                LISTING("", OBJECT("evidence/a", "-1")),                                 /* no size */
                LISTING("", OBJECT("evidence/a", "1x")),
                LISTING("", "<Contents><Size>1</Size></Contents>"),                      /* no key */
                LISTING("<IsTruncated>true</IsTruncated>", OBJECT("evidence/a", "1")),   /* no token */
                LISTING("<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>", ""),
                "<ListPartsResult></ListPartsResult>",
                "<ListBucketResult>",
        };
        _cleanup_free_ S3ListedObject *v = NULL;
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *next = NULL;
        size_t n = 0;
        char longkey[S3_KEY_MAX + 64];

        g_assert_cmpint(list(LISTING("<IsTruncated>true</IsTruncated><NextContinuationToken>t/1=</NextContinuationToken>",
                                     OBJECT("evidence/a/1.man", "412") OBJECT("evidence/a/1.mp4", "20971520")),
                             &v, &n, &next, &root), ==, 0);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpstr(v[0].key, ==, "evidence/a/1.man");
        g_assert_cmpuint(v[0].size, ==, 412);
        g_assert_cmpstr(v[0].etag, ==, "\"aa\"");
        g_assert_cmpstr(v[1].key, ==, "evidence/a/1.mp4");
        g_assert_cmpuint(v[1].size, ==, 20971520);
        g_assert_cmpstr(next, ==, "t/1=");
        free(v);
        v = NULL;
        root = xml_free(root);

        g_assert_cmpint(list(LISTING("<IsTruncated>false</IsTruncated>", ""), &v, &n, &next, &root), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        g_assert_null(next);
        root = xml_free(root);

        for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
                g_test_message("%s", refused[i]);
                g_assert_cmpint(list(refused[i], &v, &n, &next, &root), ==, -EPROTO);
                g_assert_null(root);
        }

        /* A key longer than S3 allows. */
        memset(longkey, 'k', sizeof longkey - 1);
        longkey[sizeof longkey - 1] = 0;
        memcpy(longkey, "evidence/", 9);
        {
                _cleanup_free_ char *doc = g_strdup_printf(LISTING("", "<Contents><Key>%s</Key><Size>1</Size></Contents>"),
                                                          longkey);
                g_assert_cmpint(list(doc, &v, &n, &next, &root), ==, -EPROTO);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/store-answer/list-token", test_list_token);
        g_test_add_func("/store-answer/tus-announces-sha256", test_tus_announces_sha256);
        g_test_add_func("/store-answer/s3-list-objects", test_s3_list_objects);
        return g_test_run();
}
