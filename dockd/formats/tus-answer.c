/* SPDX-License-Identifier: Apache-2.0 */
/* tus-answer.c: see tus-answer.h. */
#include "http-headers.h"
#include "tus-answer.h"

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
