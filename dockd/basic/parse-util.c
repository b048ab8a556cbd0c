/* SPDX-License-Identifier: Apache-2.0 */
/* parse-util.c: see parse-util.h. No locale, no leading '+' or '-', no surprises. */
#include <ctype.h>
#include <inttypes.h>

#include "parse-util.h"

int parse_uint64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        *ret = v;
        return 0;
}

int parse_unsigned_range(const char *s, unsigned min, unsigned max, unsigned *ret) {
        uint64_t v;
        int r = parse_uint64(s, &v);

        if (r < 0)
                return r;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* Split "123abc" into the number and the unit. */
static int split_number(const char **p, uint64_t *ret) {
        uint64_t v = 0;
        const char *s = *p;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *p = s;
        *ret = v;
        return 0;
}

static int mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *ret) {
        if (a != 0 && b > UINT64_MAX / a)
                return -ERANGE;
        *ret = a * b;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct { const char *suffix; uint64_t factor; } units[] = {
                { "",    1 },   { "B",   1 },
                { "K",   KiB }, { "KiB", KiB }, { "KB", KiB },
                { "M",   MiB }, { "MiB", MiB }, { "MB", MiB },
                { "G",   GiB }, { "GiB", GiB }, { "GB", GiB },
                { "T",   1024 * GiB }, { "TiB", 1024 * GiB }, { "TB", 1024 * GiB },
        };
        const char *p = s;
        uint64_t v;
        int r;

        if (isempty(s))
                return -EINVAL;
        r = split_number(&p, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(p, units[i].suffix)) {
                        uint64_t out;
                        r = mul_overflow_u64(v, units[i].factor, &out);
                        if (r < 0)
                                return r;
                        *ret = out;
                        return 0;
                }
        return -EINVAL;
}

int parse_duration(const char *s, usec_t *ret) {
        static const struct { const char *suffix; usec_t factor; } units[] = {
                { "us", 1 },
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC }, { "sec", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
                { "w", 7 * 86400 * USEC_PER_SEC },
                { "y", 365 * 86400 * USEC_PER_SEC },
        };
        const char *p = s;
        usec_t total = 0;
        bool any = false;

        if (isempty(s))
                return -EINVAL;
        while (*p) {
                uint64_t v, part;
                size_t ulen;
                bool found = false;
                int r;

                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                r = split_number(&p, &v);
                if (r < 0)
                        return r;
                ulen = strspn(p, "abcdefghijklmnopqrstuvwxyz");
                if (ulen == 0) {
                        /* A bare number is seconds, but only alone. */
                        if (any || *p)
                                return -EINVAL;
                        return mul_overflow_u64(v, USEC_PER_SEC, ret);
                }
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (strlen(units[i].suffix) == ulen && strneq(p, units[i].suffix, ulen)) {
                                r = mul_overflow_u64(v, units[i].factor, &part);
                                if (r < 0)
                                        return r;
                                if (total > UINT64_MAX - 1 - part)
                                        return -ERANGE;
                                total += part;
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
                p += ulen;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int parse_percent(const char *s, unsigned *ret) {
        _cleanup_free_ char *copy = NULL;
        const char *e;

        if (isempty(s))
                return -EINVAL;
        e = endswith(s, "%");
        if (e) {
                copy = strndup(s, (size_t) (e - s));
                if (!copy)
                        return -ENOMEM;
                s = copy;
        }
        return parse_unsigned_range(s, 0, 100, ret);
}

char *format_size(uint64_t size, char *buf, size_t len) {
        static const struct { char suffix; uint64_t factor; } units[] = {
                { 'T', 1024 * GiB }, { 'G', GiB }, { 'M', MiB }, { 'K', KiB },
        };

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (size >= units[i].factor && size % units[i].factor == 0) {
                        snprintf(buf, len, "%" PRIu64 "%c", size / units[i].factor, units[i].suffix);
                        return buf;
                }
        snprintf(buf, len, "%" PRIu64, size);
        return buf;
}

char *format_duration(usec_t usec, char *buf, size_t len) {
        static const struct { const char *suffix; usec_t factor; } units[] = {
                { "y", 365 * 86400 * USEC_PER_SEC }, { "d", 86400 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC }, { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t off = 0;

        if (usec == 0) {
                snprintf(buf, len, "0");
                return buf;
        }
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(units) && usec > 0; i++) {
                if (usec < units[i].factor)
                        continue;
                int k = snprintf(buf + off, len - off, "%s%" PRIu64 "%s", off ? " " : "",
                                 usec / units[i].factor, units[i].suffix);
                if (k < 0 || (size_t) k >= len - off)
                        break;
                off += (size_t) k;
                usec %= units[i].factor;
        }
        return buf;
}

bool name_is_valid(const char *s, size_t max) {
        size_t n;

        if (isempty(s) || s[0] == '.' || s[0] == '-')
                return false;
        n = strlen(s);
        if (n > max || strstr(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("._-", *p))
                        return false;
        return true;
}

bool usb_port_path_is_valid(const char *s) {
        /* bus "-" port ("." port)*, each a decimal number without leading zeros. */
        const char *p = s;
        bool first = true;

        if (isempty(s) || strlen(s) > 64)
                return false;
        for (;;) {
                if (!isdigit((unsigned char) *p) || (*p == '0' && isdigit((unsigned char) p[1])))
                        return false;
                while (isdigit((unsigned char) *p))
                        p++;
                if (!*p)
                        return !first;
                if (first ? *p != '-' : *p != '.')
                        return false;
                first = false;
                p++;
        }
}

bool utf8_is_valid(const char *s, size_t len) {
        const uint8_t *p = (const uint8_t *) s, *end = p + len;

        while (p < end) {
                uint32_t c;
                size_t n;

                if (*p < 0x80) {
                        p++;
                        continue;
                }
                if ((*p & 0xE0) == 0xC0) {
                        n = 1;
                        c = *p & 0x1F;
                } else if ((*p & 0xF0) == 0xE0) {
                        n = 2;
                        c = *p & 0x0F;
                } else if ((*p & 0xF8) == 0xF0) {
                        n = 3;
                        c = *p & 0x07;
                } else
                        return false;
                if ((size_t) (end - p) <= n)
                        return false;
                for (size_t i = 1; i <= n; i++) {
                        if ((p[i] & 0xC0) != 0x80)
                                return false;
                        c = (c << 6) | (p[i] & 0x3F);
                }
                /* Overlong forms, surrogates, beyond U+10FFFF. */
                if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
                    (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
                        return false;
                p += n + 1;
        }
        return true;
}
