/* SPDX-License-Identifier: Apache-2.0 */
/* config-value.c: see config-value.h. */
#include <ctype.h>
#include <inttypes.h>

#include "socket-util.h"
#include "config-value.h"
#include "glob-match.h"
#include "parse-util.h"

static bool printable(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool url_valid(const char *s, const char **ret_why) {
        const char *rest = startswith(s, "https://") ?: startswith(s, "http://");
        size_t hostlen;

        if (!rest) {
                *ret_why = "must start with http:// or https://";
                return false;
        }
        hostlen = strcspn(rest, "/?#");
        if (hostlen == 0) {
                *ret_why = "has no host";
                return false;
        }
        if (memchr(rest, '@', hostlen)) {
                *ret_why = "must not carry credentials; use the credentials key";
                return false;
        }
        for (const char *p = s; *p; p++)
                if (isspace((unsigned char) *p) || (unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f) {
                        *ret_why = "contains spaces, control or non-ASCII characters";
                        return false;
                }
        return true;
}

static bool prefix_valid(const char *s) {
        const char *p = s;

        if (!*s)
                return true;
        while (*p) {
                size_t n = strcspn(p, "/");
                _cleanup_free_ char *part = strndup(p, n);

                if (!part || !name_is_valid(part, 128))
                        return false;
                p += n;
                if (*p == '/') {
                        p++;
                        if (!*p)
                                return false;
                }
        }
        return strlen(s) <= 512;
}

static bool bucket_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 3 || n > 63 || !isalnum((unsigned char) s[0]) || !isalnum((unsigned char) s[n - 1]))
                return false;
        for (const char *p = s; *p; p++)
                if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && *p != '-' && *p != '.')
                        return false;
        return !strstr(s, "..");
}

/* Words separated by single spaces, each valid, at most max of them. */
static bool list_valid(const char *s, bool (*valid)(const char *word), size_t max) {
        size_t n = 0;

        for (const char *p = s; *p; n++) {
                size_t len = strcspn(p, " ");
                _cleanup_free_ char *word = strndup(p, len);

                if (!word || !valid(word) || n >= max)
                        return false;
                p += len;
                if (*p == ' ' && !*++p)
                        return false;
        }
        return n > 0;
}

static bool serial_word_valid(const char *s) {
        return name_is_valid(s, 64);
}

static int parse_usb_id(const char *s, uint32_t *ret) {
        unsigned v, p;
        int n = -1;

        if (strlen(s) != 9 || sscanf(s, "%4x:%4x%n", &v, &p, &n) != 2 || n != 9 ||
            strspn(s, "0123456789abcdefABCDEF:") != 9)
                return -EINVAL;
        *ret = (uint32_t) v << 16 | p;
        return 0;
}

static int enum_from_string(const char *const *values, const char *s) {
        for (int i = 0; values[i]; i++)
                if (streq(values[i], s))
                        return i;
        return -EINVAL;
}

static char *enum_list(const char *const *values) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return NULL;
        for (int i = 0; values[i]; i++)
                fprintf(f, "%s%s", i ? ", " : "", values[i]);
        fclose(f);
        return out;
}

int config_value_parse(const ConfigValueType *type, const char *value, void *dst, char **ret_why) {
        const char *why = NULL;
        char buf[FORMAT_DURATION_MAX], buf2[FORMAT_DURATION_MAX];
        int r;

        switch (type->type) {
        case CT_STRING: case CT_NAME: case CT_PATH: case CT_URL: case CT_SECRET_URL:
        case CT_PREFIX: case CT_BUCKET: case CT_PORT: case CT_LISTEN:
        case CT_NAME_LIST: case CT_GLOB_LIST: {
                struct sockaddr_storage ss;
                socklen_t len;
                char *copy;

                if (!printable(value))
                        why = "contains control characters";
                else if (type->type != CT_PREFIX && !*value)
                        why = "must not be empty";
                else if (type->type == CT_NAME && !name_is_valid(value, 64))
                        why = "must be 1-64 characters of A-Z a-z 0-9 . _ - (not starting with . or -, no ..)";
                else if (type->type == CT_PATH && (value[0] != '/' || strstr(value, "/../") || endswith(value, "/..")))
                        why = "must be an absolute path without ..";
                else if ((type->type == CT_URL || type->type == CT_SECRET_URL) && !url_valid(value, &why))
                        ;
                else if (type->type == CT_PREFIX && !prefix_valid(value))
                        why = "must be names of A-Z a-z 0-9 . _ - separated by single '/', without leading or trailing '/'";
                else if (type->type == CT_BUCKET && !bucket_valid(value))
                        why = "must be a valid S3 bucket name (3-63 of a-z 0-9 . -)";
                else if (type->type == CT_PORT && !usb_port_path_is_valid(value))
                        why = "must be a USB port path such as 1-1.4";
                else if (type->type == CT_LISTEN && parse_listen_address(value, &ss, &len) < 0)
                        why = "must be an IP address and a port, such as 127.0.0.1:9437 or [::1]:9437";
                else if (type->type == CT_NAME_LIST && !list_valid(value, serial_word_valid, 256))
                        why = "must be up to 256 names of A-Z a-z 0-9 . _ - separated by single spaces";
                else if (type->type == CT_GLOB_LIST && !list_valid(value, glob_pattern_is_valid, 32))
                        why = "must be up to 32 relative path patterns (* ? [...] and ** as a whole component; no spaces, no . or .. components) separated by single spaces";
                if (why)
                        break;
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
                free(*(char **) dst);
                *(char **) dst = copy;
                return 0;
        }
        case CT_SIZE: {
                uint64_t v;
                r = parse_size(value, &v);
                if (r == -ERANGE)
                        why = "is too large";
                else if (r < 0)
                        why = "is not a size (such as 512K, 16M, 2G)";
                else if (v < type->min || v > type->max) {
                        format_size(type->min, buf, sizeof buf);
                        format_size(type->max, buf2, sizeof buf2);
                        return asprintf(ret_why, "is out of range (%s to %s)", buf,
                                        type->max == UINT64_MAX ? "unlimited" : buf2) < 0 ? -ENOMEM : -ERANGE;
                } else {
                        *(uint64_t *) dst = v;
                        return 0;
                }
                break;
        }
        case CT_DURATION: {
                usec_t v;
                r = parse_duration(value, &v);
                if (r == -ERANGE)
                        why = "is too large";
                else if (r < 0)
                        why = "is not a duration (such as 500ms, 30s, 5min, 12h, 90d, 4y)";
                else if (v < type->min || v > type->max) {
                        format_duration(type->min, buf, sizeof buf);
                        format_duration(type->max, buf2, sizeof buf2);
                        return asprintf(ret_why, "is out of range (%s to %s)", buf, buf2) < 0 ? -ENOMEM : -ERANGE;
                } else {
                        *(usec_t *) dst = v;
                        return 0;
                }
                break;
        }
        case CT_BOOL:
                r = parse_boolean(value);
                if (r < 0)
                        why = "is not a boolean (yes/no, true/false, on/off, 1/0)";
                else {
                        *(bool *) dst = r;
                        return 0;
                }
                break;
        case CT_UINT: {
                unsigned v;
                r = parse_unsigned_range(value, (unsigned) type->min, (unsigned) type->max, &v);
                if (r == -ERANGE)
                        return asprintf(ret_why, "is out of range (%" PRIu64 " to %" PRIu64 ")", type->min, type->max) < 0
                                       ? -ENOMEM : -ERANGE;
                if (r < 0)
                        why = "is not a non-negative integer";
                else {
                        *(unsigned *) dst = v;
                        return 0;
                }
                break;
        }
        case CT_USB_ID: {
                uint32_t v;
                if (parse_usb_id(value, &v) < 0)
                        why = "is not a USB vendor and product ID such as 1d6b:0100 (four hex digits each)";
                else {
                        *(uint32_t *) dst = v;
                        return 0;
                }
                break;
        }
        case CT_PERCENT: {
                unsigned v;
                r = parse_percent(value, &v);
                if (r < 0 || v < type->min || v > type->max)
                        return asprintf(ret_why, "is not a percentage from %" PRIu64 "%% to %" PRIu64 "%%", type->min, type->max) < 0
                                       ? -ENOMEM : -EINVAL;
                *(unsigned *) dst = v;
                return 0;
        }
        case CT_ENUM: {
                _cleanup_free_ char *list = NULL;
                r = enum_from_string(type->enum_values, value);
                if (r >= 0) {
                        *(int *) dst = r;
                        return 0;
                }
                list = enum_list(type->enum_values);
                return asprintf(ret_why, "must be one of: %s", strna(list)) < 0 ? -ENOMEM : -EINVAL;
        }
        case CT_LOG_LEVEL:
                r = log_level_from_string(value);
                if (r < 0)
                        why = "must be one of: emerg, alert, crit, err, warning, notice, info, debug";
                else {
                        *(int *) dst = r;
                        return 0;
                }
                break;
        case CT_LOG_TARGET: {
                LogTarget t = log_target_from_string(value);
                if (t < 0)
                        why = "must be one of: auto, console, journal";
                else {
                        *(LogTarget *) dst = t;
                        return 0;
                }
                break;
        }
        }
        if (!why)
                why = "is invalid";
        *ret_why = strdup(why);
        return *ret_why ? -EINVAL : -ENOMEM;
}

void config_value_print(const ConfigValueType *type, const void *p, FILE *f) {
        char buf[FORMAT_DURATION_MAX];

        switch (type->type) {
        case CT_STRING: case CT_NAME: case CT_PATH: case CT_URL: case CT_PREFIX:
        case CT_BUCKET: case CT_PORT: case CT_LISTEN: case CT_NAME_LIST: case CT_GLOB_LIST:
                fprintf(f, "%s", *(char *const *) p ?: "");
                break;
        case CT_SECRET_URL: {
                const char *u = *(char *const *) p;
                if (!u)
                        break;
                /* scheme://host/ then "…": paths and queries of webhooks carry tokens. */
                const char *rest = strstr(u, "://");
                size_t keep = rest ? (size_t) (rest + 3 - u) + strcspn(rest + 3, "/?#") : 0;
                fprintf(f, "%.*s%s", (int) keep, u, u[keep] ? "/(masked)" : "");
                break;
        }
        case CT_SIZE:
                fprintf(f, "%s", format_size(*(const uint64_t *) p, buf, sizeof buf));
                break;
        case CT_DURATION:
                fprintf(f, "%s", format_duration(*(const usec_t *) p, buf, sizeof buf));
                break;
        case CT_BOOL:
                fprintf(f, "%s", *(const bool *) p ? "yes" : "no");
                break;
        case CT_UINT:
                fprintf(f, "%u", *(const unsigned *) p);
                break;
        case CT_PERCENT:
                fprintf(f, "%u%%", *(const unsigned *) p);
                break;
        case CT_ENUM:
                fprintf(f, "%s", type->enum_values[*(const int *) p]);
                break;
        case CT_LOG_LEVEL:
                fprintf(f, "%s", log_level_to_string(*(const int *) p));
                break;
        case CT_LOG_TARGET: {
                static const char *const t[] = { "auto", "console", "journal" };
                fprintf(f, "%s", t[*(const LogTarget *) p]);
                break;
        }
        case CT_USB_ID:
                fprintf(f, "%04x:%04x", *(const uint32_t *) p >> 16, *(const uint32_t *) p & 0xffff);
                break;
        }
}
