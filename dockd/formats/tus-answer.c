/* SPDX-License-Identifier: Apache-2.0 */
/* tus-answer.c: see tus-answer.h. */
#include "hexdecoct.h"
#include "http-headers.h"
#include "tus-answer.h"

#define TUS_METADATA_VALUE_MAX (4 * KiB)

char *tus_location_resolve(const char *endpoint, const char *origin, const char *loc) {
        const char *dir_end = strrchr(endpoint, '/');
        char *u = NULL;

        if (startswith(loc, "http://") || startswith(loc, "https://"))
                return strdup(loc);
        if (loc[0] == '/') {
                if (asprintf(&u, "%s%s", origin, loc) < 0)
                        return NULL;
                return u;
        }
        /* Relative to the creation URL's directory. */
        if (!dir_end || asprintf(&u, "%.*s%s", (int) (dir_end + 1 - endpoint), endpoint, loc) < 0)
                return NULL;
        return u;
}

bool tus_announces_sha256(const char *extensions, const char *algorithms) {
        return http_list_has_token(extensions, "checksum") && http_list_has_token(algorithms, "sha256");
}

bool tus_metadata_has(const char *metadata, const char *name, const char *value) {
        size_t nlen = strlen(name);

        for (const char *p = metadata; p && *p;) {
                const char *end = p + strcspn(p, ","), *sp;

                p += strspn(p, " ");
                sp = memchr(p, ' ', (size_t) (end - p));
                if ((size_t) ((sp ?: end) - p) == nlen && strneq(p, name, nlen)) {
                        _cleanup_free_ char *b64 = sp ? strndup(sp + 1, (size_t) (end - sp - 1)) : strdup("");
                        _cleanup_free_ uint8_t *buf = malloc(TUS_METADATA_VALUE_MAX);
                        size_t n = 0;

                        if (!b64 || !buf)
                                return false;
                        if (isempty(b64))
                                return isempty(value);
                        return unbase64mem(b64, buf, TUS_METADATA_VALUE_MAX, &n) >= 0 && n == strlen(value) &&
                               memcmp(buf, value, n) == 0;
                }
                p = *end ? end + 1 : end;
        }
        return false;
}
