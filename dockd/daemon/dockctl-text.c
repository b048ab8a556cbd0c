/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-text.c: see dockctl-text.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dockctl-text.h"

/* Length of the valid UTF-8 sequence at p and its code point, 0 if invalid. */
static size_t utf8_decode(const unsigned char *p, uint32_t *ret) {
        size_t n = *p >= 0xF0 && *p < 0xF5 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC2 ? 2 : 0;
        uint32_t c;

        if (n == 0 || *p >= 0xF5)
                return 0;
        c = *p & (0x7F >> n);
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                c = (c << 6) | (p[i] & 0x3F);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
                return 0;
        *ret = c;
        return n;
}

static bool code_point_acts(uint32_t c) {
        return (c >= 0x80 && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
               c == 0x200E || c == 0x200F || c == 0x061C;
}

char *text_escape(const char *s) {
        const unsigned char *p = (const unsigned char *) (s ?: "");
        size_t len = strlen((const char *) p);
        char *out = malloc(len * 6 + 1), *o = out;   /* \uNNNN per byte at most */

        if (!out)
                return NULL;
        while (*p) {
                uint32_t c;
                size_t n;

                if (*p < 0x20 || *p == 0x7F) {
                        o += sprintf(o, "\\x%02x", *p++);
                        continue;
                }
                if (*p == '\\') {
                        o += sprintf(o, "\\\\");
                        p++;
                        continue;
                }
                if (*p < 0x80) {
                        *o++ = (char) *p++;
                        continue;
                }
                n = utf8_decode(p, &c);
                if (n == 0) {
                        o += sprintf(o, "\\x%02x", *p++);
                        continue;
                }
                if (code_point_acts(c))
                        o += sprintf(o, "\\u%04x", (unsigned) c);
                else {
                        memcpy(o, p, n);
                        o += n;
                }
                p += n;
        }
        *o = '\0';
        return out;
}

const char *text_iec(uint64_t bytes, char *buf, size_t size) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
        double v = (double) bytes;
        size_t u = 0;

        if (bytes < 1024) {
                snprintf(buf, size, "%llu B", (unsigned long long) bytes);
                return buf;
        }
        for (v /= 1024; v >= 1024 && u + 1 < sizeof units / sizeof units[0]; v /= 1024)
                u++;
        snprintf(buf, size, "%.1f %s", v, units[u]);
        return buf;
}

const char *text_local_time(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "?");
        return buf;
}

size_t text_width(const char *s) {
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xC0) != 0x80)
                        n++;
        return n;
}

void text_fit(char *s, size_t cols) {
        size_t n = 0;

        for (char *p = s; *p; p++)
                if ((*p & 0xC0) != 0x80 && n++ == cols) {
                        *p = '\0';
                        return;
                }
}

const char *text_state_colour(const char *state) {
        if (!state)
                return "";
        if (strcmp(state, "fault") == 0)
                return "\x1b[31m";
        if (strcmp(state, "ready") == 0)
                return "\x1b[32m";
        if (strcmp(state, "offloading") == 0 || strcmp(state, "syncing") == 0 || strcmp(state, "identifying") == 0)
                return "\x1b[33m";
        return "";
}

const char *text_age(uint64_t seconds, char *buf, size_t size) {
        if (seconds < 120)
                snprintf(buf, size, "%llu s", (unsigned long long) seconds);
        else if (seconds < 2 * 3600)
                snprintf(buf, size, "%llu min", (unsigned long long) (seconds / 60));
        else if (seconds < 2 * 86400)
                snprintf(buf, size, "%llu h", (unsigned long long) (seconds / 3600));
        else
                snprintf(buf, size, "%llu d", (unsigned long long) (seconds / 86400));
        return buf;
}
