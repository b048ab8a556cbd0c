/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the header lines of an answer from central storage (http-headers.h, as
 * libcurl hands them to upload/http.c one line at a time) and what the s3 and
 * tus backends read from them: ETag (s3_etag_equal), Content-Length and tus's
 * Upload-Offset/Upload-Length (parse_uint64), Location (tus_location_resolve,
 * on an https and an http creation URL), Tus-Extension with
 * Tus-Checksum-Algorithm (tus_announces_sha256, which must find exactly the
 * elements of their lists), Upload-Metadata (tus_metadata_has). Input: the
 * answer's header block, lines ending in '\n'. Beyond "no crash, no leak, no overread": a
 * value is one line of what was received, a status line forgets the headers
 * before it, and a resolved Location stays under the creation URL's scheme
 * unless it names one itself. */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http-headers.h"
#include "parse-util.h"
#include "s3-protocol.h"
#include "tus-answer.h"

static const char *const names[] = {
        "ETag", "Content-Length", "x-amz-meta-sha256", "Location", "Upload-Offset", "Upload-Length",
        "Tus-Extension", "Tus-Checksum-Algorithm", "Tus-Resumable", "Tus-Version",
};

static void check_location(const char *endpoint, const char *origin, const char *loc) {
        char *u = tus_location_resolve(endpoint, origin, loc);

        fuzz_check(u);
        if (!startswith(loc, "http://") && !startswith(loc, "https://"))
                fuzz_check(startswith(u, origin));
        fuzz_check(endswith(u, loc));
        free(u);
}

/* Whether list has an element that is token (case-insensitive), read as plainly
 * as can be: split at each comma, blanks stripped from both ends. The product's
 * http_list_has_token() must agree. */
static bool list_has(const char *list, const char *token) {
        char *copy, *rest, *e;
        bool found = false;

        if (!list)
                return false;
        copy = rest = strdup(list);
        fuzz_check(copy);
        while ((e = strsep(&rest, ",")) && !found) {
                size_t len;

                e += strspn(e, " \t");
                len = strlen(e);
                while (len > 0 && (e[len - 1] == ' ' || e[len - 1] == '\t'))
                        e[--len] = 0;
                found = strcasecmp(e, token) == 0;
        }
        free(copy);
        return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        HttpHeaders h = {};
        size_t last_status = 0, lines = 0;

        for (size_t at = 0; at < size; ) {
                const char *nl = memchr(text + at, '\n', size - at);
                size_t len = nl ? (size_t) (nl - (text + at)) + 1 : size - at;

                fuzz_check(http_headers_add_line(&h, text + at, len) == 0);
                lines++;
                if (len >= 5 && memcmp(text + at, "HTTP/", 5) == 0) {
                        fuzz_check(h.n == 0);
                        last_status = lines;
                }
                at += len;
        }
        fuzz_check(h.n <= HTTP_HEADERS_MAX && h.n <= lines - last_status);

        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                const char *v = http_headers_get(&h, names[i]);
                uint64_t u;

                if (!v)
                        continue;
                fuzz_check(!strchr(v, '\n'));
                fuzz_check(strlen(v) <= HTTP_HEADER_LINE_MAX);
                fuzz_check(*v != ' ' && *v != '\t');
                (void) parse_uint64(v, &u);
                (void) s3_etag_equal(v, "d41d8cd98f00b204e9800998ecf8427e");
                (void) s3_etag_equal(v, "0c1bd7de0bc7ab2ab6ad4bd36ae59c40-3");
        }
        {
                const char *loc = http_headers_get(&h, "Location");
                if (loc) {
                        check_location("https://tus.example:1080/files/", "https://tus.example:1080", loc);
                        check_location("http://127.0.0.1:4711/up/load", "http://127.0.0.1:4711", loc);
                }
        }
        {
                const char *ext = http_headers_get(&h, "Tus-Extension"),
                           *alg = http_headers_get(&h, "Tus-Checksum-Algorithm");

                fuzz_check(tus_announces_sha256(ext, alg) ==
                           (list_has(ext, "checksum") && list_has(alg, "sha256")));
        }
        /* A key is found only with its exact bytes; an empty value never names one. */
        (void) tus_metadata_has(http_headers_get(&h, "Upload-Metadata"), "key", "evidence/a");
        fuzz_check(!tus_metadata_has("key ", "key", "evidence/a"));
        fuzz_check(tus_metadata_has("filename eA==,key ZXZpZGVuY2UvYQ==", "key", "evidence/a"));
        http_headers_clear(&h);
        fuzz_check(h.n == 0);
        http_headers_done(&h);
        return 0;
}
