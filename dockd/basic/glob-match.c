/* SPDX-License-Identifier: Apache-2.0 */
/* glob-match.c: see glob-match.h. */
#include <fnmatch.h>

#include "glob-match.h"

#define GLOB_PATTERN_MAX 255
/* More "**" than this in one pattern is refused: each one multiplies the work. */
#define GLOB_DOUBLE_STAR_MAX 4

static bool component_is_valid(const char *s, size_t n) {
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        if (n > 2 && memmem(s, n, "**", 2))
                return false;   /* "**" only as a whole component */
        return true;
}

bool glob_pattern_is_valid(const char *pattern) {
        size_t n = strlen(pattern);
        unsigned stars = 0;

        if (n == 0 || n > GLOB_PATTERN_MAX || pattern[0] == '/')
                return false;
        for (const char *p = pattern; *p; p++)
                if (*p <= ' ' || *p >= 0x7f || *p == '\\')
                        return false;
        for (const char *p = pattern;;) {
                size_t len = strcspn(p, "/");

                if (!component_is_valid(p, len))
                        return false;
                if (len == 2 && p[0] == '*' && p[1] == '*')
                        stars++;
                if (!p[len])
                        break;
                p += len + 1;
        }
        return stars <= GLOB_DOUBLE_STAR_MAX;
}

static bool component_match(const char *pat, size_t plen, const char *name, size_t nlen) {
        char p[GLOB_PATTERN_MAX + 1], s[256];

        if (plen >= sizeof p || nlen >= sizeof s)
                return false;
        memcpy(p, pat, plen);
        p[plen] = 0;
        memcpy(s, name, nlen);
        s[nlen] = 0;
        return fnmatch(p, s, FNM_CASEFOLD | FNM_PERIOD) == 0;
}

static bool match_from(const char *pat, const char *path) {
        size_t plen = strcspn(pat, "/"), nlen;

        if (plen == 2 && pat[0] == '*' && pat[1] == '*') {
                const char *rest = pat[2] ? pat + 3 : NULL;

                /* "**" at the end matches everything below; otherwise try the rest
                 * of the pattern at this component and at every one below it. */
                if (!rest)
                        return true;
                for (const char *q = path;;) {
                        if (match_from(rest, q))
                                return true;
                        q = strchr(q, '/');
                        if (!q)
                                return false;
                        q++;
                }
        }
        nlen = strcspn(path, "/");
        if (!component_match(pat, plen, path, nlen))
                return false;
        if (!pat[plen] || !path[nlen])
                return !pat[plen] && !path[nlen];
        return match_from(pat + plen + 1, path + nlen + 1);
}

bool glob_match_path(const char *pattern, const char *path) {
        if (!glob_pattern_is_valid(pattern) || isempty(path) || path[0] == '/')
                return false;
        return match_from(pattern, path);
}
