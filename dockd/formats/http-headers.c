/* SPDX-License-Identifier: Apache-2.0 */
/* http-headers.c: see http-headers.h. */
#include <strings.h>

#include "http-headers.h"

void http_headers_clear(HttpHeaders *h) {
        for (size_t i = 0; i < h->n; i++)
                free(h->lines[i]);
        h->n = 0;
}

void http_headers_done(HttpHeaders *h) {
        http_headers_clear(h);
        free(h->lines);
        h->lines = NULL;
}

int http_headers_add_line(HttpHeaders *h, const char *buf, size_t size) {
        size_t len = size;
        char **l;

        if (size >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
                http_headers_clear(h);
                return 0;
        }
        while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
                len--;
        if (len == 0 || !memchr(buf, ':', len))
                return 0;
        if (h->n >= HTTP_HEADERS_MAX || len > HTTP_HEADER_LINE_MAX)
                return 0;
        l = realloc(h->lines, (h->n + 1) * sizeof *l);
        if (!l)
                return -ENOMEM;
        h->lines = l;
        l[h->n] = strndup(buf, len);
        if (!l[h->n])
                return -ENOMEM;
        h->n++;
        return 0;
}

const char *http_headers_get(const HttpHeaders *h, const char *name) {
        size_t n = strlen(name);

        for (size_t i = 0; i < h->n; i++) {
                const char *l = h->lines[i];
                if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
                        const char *v = l + n + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        return v;
                }
        }
        return NULL;
}

bool http_list_has_token(const char *list, const char *token) {
        size_t n = strlen(token);

        if (!list || n == 0)
                return false;
        for (const char *at = list;;) {
                size_t len;

                at += strspn(at, " \t");
                len = strcspn(at, ",");
                /* The element without the blanks before the next comma. */
                while (len > 0 && (at[len - 1] == ' ' || at[len - 1] == '\t'))
                        len--;
                if (len == n && strncasecmp(at, token, n) == 0)
                        return true;
                at = strchr(at, ',');
                if (!at)
                        return false;
                at++;
        }
}
