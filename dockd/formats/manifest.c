/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.c: the segment manifest, docs/camera-protocol.md §12.2, and the §12.1
 * identifier grammars. One accepted spelling per manifest: fixed keys in a fixed
 * order, canonical numbers and hex, UTC times in one form. Anything else is
 * rejected with "line N: key: problem", because a manifest that two readers could
 * read differently is not evidence. */
#include <inttypes.h>
#include <stdarg.h>

#include "manifest.h"
#include "parse-util.h"

/* ---- §12.1 identifiers ---- */

static bool is_upper_or_digit(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_lower_or_digit(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_upper_or_digit(c) || (c >= 'a' && c <= 'z');
}

/* [A-Z0-9][A-Z0-9-]{2,31} */
bool serial_is_valid(const char *s) {
        size_t n;

        if (!s || !is_upper_or_digit(s[0]))
                return false;
        n = strlen(s);
        if (n < 3 || n > 32)
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_upper_or_digit(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}, not containing ".." */
bool recording_id_is_valid(const char *s) {
        size_t n;

        if (!s || !is_alnum(s[0]))
                return false;
        n = strlen(s);
        if (n > 64 || strstr(s, ".."))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

/* [A-Za-z0-9._-]{1,32} */
bool officer_id_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n < 1 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

/* [a-z0-9][a-z0-9-]{0,31} */
bool category_is_valid(const char *s) {
        size_t n;

        if (!s || !is_lower_or_digit(s[0]))
                return false;
        n = strlen(s);
        if (n > 32)
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_lower_or_digit(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* ---- value grammars; each returns NULL or what is wrong ---- */

/* Decimal without sign or leading zeros, at most max. */
static const char *parse_decimal(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s)
                return "empty";
        if (strspn(s, "0123456789") != strlen(s))
                return "not a decimal number";
        if (s[0] == '0' && s[1])
                return "leading zero";
        for (const char *p = s; *p; p++) {
                if (v > (max - (uint64_t) (*p - '0')) / 10)
                        return "out of range";
                v = v * 10 + (uint64_t) (*p - '0');
        }
        *ret = v;
        return NULL;
}

/* Code points that would make a value print differently from what it is:
 * C0/C1 controls, DEL, line/paragraph separators, bidi controls, the BOM. */
static bool codepoint_is_printable(uint32_t c) {
        return !(c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
                 c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
                 (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF);
}

/* 1..max printable characters (code points); s is known to be valid UTF-8. */
static const char *check_printable(const char *s, size_t max) {
        const uint8_t *p = (const uint8_t *) s;
        size_t n = 0;

        if (!*p)
                return "empty";
        while (*p) {
                uint32_t c;
                size_t k;

                if (*p < 0x80) {
                        c = *p;
                        k = 1;
                } else if ((*p & 0xE0) == 0xC0) {
                        c = (uint32_t) (*p & 0x1F) << 6 | (p[1] & 0x3F);
                        k = 2;
                } else if ((*p & 0xF0) == 0xE0) {
                        c = (uint32_t) (*p & 0x0F) << 12 | (uint32_t) (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
                        k = 3;
                } else {
                        c = 0x10000;    /* 4-byte forms: beyond the BMP, all printable here */
                        k = 4;
                }
                if (!codepoint_is_printable(c))
                        return "control or formatting character";
                p += k;
                if (++n > max)
                        return "longer than 64 characters";
        }
        return NULL;
}

/* RFC 3339, UTC, whole seconds: YYYY-MM-DDThh:mm:ssZ, a real calendar date. */
static const char *parse_time(const char *s, time_t *ret) {
        static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
        struct tm tm = {}, check;
        time_t t;

        if (strlen(s) != sizeof shape - 1)
                return "not a UTC time of the form 2026-11-21T22:15:00Z";
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
                        return "not a UTC time of the form 2026-11-21T22:15:00Z";

#define D2(i) ((s[i] - '0') * 10 + (s[i + 1] - '0'))
        tm.tm_year = D2(0) * 100 + D2(2) - 1900;
        tm.tm_mon = D2(5) - 1;
        tm.tm_mday = D2(8);
        tm.tm_hour = D2(11);
        tm.tm_min = D2(14);
        tm.tm_sec = D2(17);
#undef D2
        /* Leap seconds (:60) are not representable in time_t: rejected. */
        if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_hour > 23 ||
            tm.tm_min > 59 || tm.tm_sec > 59)
                return "no such date or time";
        /* timegm() normalises Feb 30 into Mar 2; a date that does not survive the
         * round trip does not exist. */
        check = tm;
        t = timegm(&check);
        if (!gmtime_r(&t, &check) || check.tm_year != tm.tm_year || check.tm_mon != tm.tm_mon ||
            check.tm_mday != tm.tm_mday || check.tm_hour != tm.tm_hour || check.tm_min != tm.tm_min ||
            check.tm_sec != tm.tm_sec)
                return "no such date or time";
        *ret = t;
        return NULL;
}

/* "a,b,c" or "": categories, no duplicates, at most MANIFEST_MAX_CATEGORIES.
 * Returns 0, -ENOMEM, or -EBADMSG with *ret_problem. */
static int parse_categories(char *s, char ***ret, size_t *ret_n, const char **ret_problem) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        char *p = s;

        l = calloc(MANIFEST_MAX_CATEGORIES + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        while (*s) {
                char *comma = strchr(p, ',');

                if (comma)
                        *comma = 0;
                if (!category_is_valid(p)) {
                        *ret_problem = *p ? "invalid category" : "empty category";
                        return -EBADMSG;
                }
                for (size_t i = 0; i < n; i++)
                        if (streq(l[i], p)) {
                                *ret_problem = "duplicate category";
                                return -EBADMSG;
                        }
                if (n >= MANIFEST_MAX_CATEGORIES) {
                        *ret_problem = "more than 16 categories";
                        return -EBADMSG;
                }
                l[n] = strdup(p);
                if (!l[n])
                        return -ENOMEM;
                n++;
                if (!comma)
                        break;
                p = comma + 1;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

/* ---- the manifest ---- */

Manifest *manifest_free(Manifest *m) {
        if (!m)
                return NULL;
        free(m->device_serial);
        free(m->model);
        free(m->firmware);
        free(m->recording_id);
        free(m->file_name);
        free(m->officer_id);
        strv_free(m->categories);
        free(m->sealed_by);
        free(m->source_path);
        free(m);
        return NULL;
}

typedef enum Field {
        FIELD_FORMAT,
        FIELD_DEVICE_SERIAL,
        FIELD_MODEL,
        FIELD_FIRMWARE,
        FIELD_RECORDING_ID,
        FIELD_SEGMENT_INDEX,
        FIELD_FILE_NAME,
        FIELD_SIZE,
        FIELD_SHA256,
        FIELD_PREV,
        FIELD_START_TIME,
        FIELD_END_TIME,
        FIELD_OFFICER_ID,
        FIELD_CATEGORIES,
        FIELD_SEALED_BY,          /* §12.6: sealed manifests only */
        FIELD_SEALED_TIME,
        FIELD_SOURCE_PATH,
        _FIELD_MAX,
} Field;

/* §12.2: the keys, in the one order they must appear in. */
static const char *const field_keys[_FIELD_MAX] = {
        [FIELD_FORMAT] = "format",
        [FIELD_DEVICE_SERIAL] = "device_serial",
        [FIELD_MODEL] = "model",
        [FIELD_FIRMWARE] = "firmware",
        [FIELD_RECORDING_ID] = "recording_id",
        [FIELD_SEGMENT_INDEX] = "segment_index",
        [FIELD_FILE_NAME] = "file_name",
        [FIELD_SIZE] = "size",
        [FIELD_SHA256] = "sha256",
        [FIELD_PREV] = "prev",
        [FIELD_START_TIME] = "start_time",
        [FIELD_END_TIME] = "end_time",
        [FIELD_OFFICER_ID] = "officer_id",
        [FIELD_CATEGORIES] = "categories",
        [FIELD_SEALED_BY] = "sealed_by",
        [FIELD_SEALED_TIME] = "sealed_time",
        [FIELD_SOURCE_PATH] = "source_path",
};

static int field_from_key(const char *key) {
        for (int i = 0; i < _FIELD_MAX; i++)
                if (streq(field_keys[i], key))
                        return i;
        return -ENOENT;
}

/* Returns -EBADMSG with a message "line N: …", or -ENOMEM. */
_printf_(3, 4)
static int fail(char **ret_error, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        char *msg;
        int k;

        if (!ret_error)
                return -EBADMSG;
        va_start(ap, fmt);
        k = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (line > 0)
                k = asprintf(&msg, "line %u: %s", line, what);
        else
                k = asprintf(&msg, "%s", what);
        if (k < 0)
                return -ENOMEM;
        *ret_error = msg;
        return -EBADMSG;
}

static int set_string(char **field, const char *value) {
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

/* Check one value and store it in m. Returns 0, -ENOMEM, or -EBADMSG with *ret_problem. */
static int field_parse(Manifest *m, Field f, char *value, const char **ret_problem) {
        const char *problem = NULL;
        uint64_t u;

        switch (f) {
        case FIELD_FORMAT:
                if (!streq(value, "1"))
                        problem = "unsupported format (only 1)";
                else
                        m->format = 1;
                break;
        case FIELD_DEVICE_SERIAL:
                if (!serial_is_valid(value))
                        problem = "not a valid serial";
                else
                        return set_string(&m->device_serial, value);
                break;
        case FIELD_MODEL:
                problem = check_printable(value, 64);
                if (!problem)
                        return set_string(&m->model, value);
                break;
        case FIELD_FIRMWARE:
                problem = check_printable(value, 64);
                if (!problem)
                        return set_string(&m->firmware, value);
                break;
        case FIELD_RECORDING_ID:
                if (!recording_id_is_valid(value))
                        problem = "not a valid recording id";
                else
                        return set_string(&m->recording_id, value);
                break;
        case FIELD_SEGMENT_INDEX:
                problem = parse_decimal(value, 999999, &u);
                if (!problem)
                        m->segment_index = (uint32_t) u;
                break;
        case FIELD_FILE_NAME: {
                char expected[sizeof "999999.mp4"];

                snprintf(expected, sizeof expected, "%06" PRIu32 ".mp4", m->segment_index % 1000000);
                if (!streq(value, expected))
                        problem = "does not match segment_index";
                else
                        return set_string(&m->file_name, value);
                break;
        }
        case FIELD_SIZE:
                problem = parse_decimal(value, INT64_MAX, &u);
                if (!problem)
                        m->size = u;
                break;
        case FIELD_SHA256:
                if (unhex_sha256(value, m->sha256) < 0)
                        problem = "not 64 lower-case hex digits";
                break;
        case FIELD_PREV:
                if (unhex_sha256(value, m->prev) < 0)
                        problem = "not 64 lower-case hex digits";
                break;
        case FIELD_START_TIME:
                problem = parse_time(value, &m->start_time);
                break;
        case FIELD_END_TIME:
                problem = parse_time(value, &m->end_time);
                if (!problem && m->end_time < m->start_time)
                        problem = "before start_time";
                break;
        case FIELD_OFFICER_ID:
                if (!officer_id_is_valid(value))
                        problem = "not a valid officer id";
                else
                        return set_string(&m->officer_id, value);
                break;
        case FIELD_CATEGORIES:
                return parse_categories(value, &m->categories, &m->n_categories, ret_problem);
        case FIELD_SEALED_BY:
                if (!name_is_valid(value, 64))
                        problem = "not a valid dock name";
                else
                        return set_string(&m->sealed_by, value);
                break;
        case FIELD_SEALED_TIME:
                problem = parse_time(value, &m->sealed_time);
                break;
        case FIELD_SOURCE_PATH:
                if (!source_path_is_valid(value))
                        problem = "not a percent-encoded path";
                else
                        return set_string(&m->source_path, value);
                break;
        default:
                return -EINVAL;
        }
        if (problem) {
                *ret_problem = problem;
                return -EBADMSG;
        }
        return 0;
}

/* A key worth quoting back in an error message: short, [a-z0-9_]. */
static bool key_is_printable(const char *key) {
        size_t n = strlen(key);

        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_lower_or_digit(key[i]) && key[i] != '_')
                        return false;
        return true;
}

static int parse_fields(const uint8_t *data, size_t size, int n_fields, Manifest **ret, char **ret_error);

int manifest_parse(const uint8_t *data, size_t size, Manifest **ret, char **ret_error) {
        return parse_fields(data, size, FIELD_CATEGORIES + 1, ret, ret_error);
}

int manifest_parse_sealed(const uint8_t *data, size_t size, Manifest **ret, char **ret_error) {
        return parse_fields(data, size, _FIELD_MAX, ret, ret_error);
}

bool source_path_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 1024 || s[0] == '/')
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%') {
                        /* strchr() finds the NUL too: check the length first. */
                        if (i + 2 >= n || !strchr("0123456789ABCDEF", s[i + 1]) ||
                            !strchr("0123456789ABCDEF", s[i + 2]))
                                return false;
                        i += 2;
                } else if (!is_alnum(s[i]) && !strchr("._/-", s[i]))
                        return false;
        }
        return true;
}

static int parse_fields(const uint8_t *data, size_t size, int n_fields, Manifest **ret, char **ret_error) {
        _cleanup_(manifest_freep) Manifest *m = NULL;
        _cleanup_free_ char *text = NULL;
        char *line, *next;
        unsigned lineno = 0;
        int f = 0;

        if (size == 0)
                return fail(ret_error, 0, "empty manifest");
        if (!data)
                return -EINVAL;
        if (size > MANIFEST_MAX_SIZE)
                return fail(ret_error, 0, "larger than %d bytes", MANIFEST_MAX_SIZE);
        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                return fail(ret_error, 1, "byte-order mark");

        /* A NUL-terminated copy; NULs inside are found line by line below. */
        text = malloc(size + 1);
        if (!text)
                return -ENOMEM;
        memcpy(text, data, size);
        text[size] = 0;

        m = calloc(1, sizeof(Manifest));
        if (!m)
                return -ENOMEM;

        for (line = text; line < text + size; line = next) {
                char *nl = memchr(line, '\n', (size_t) (text + size - line)), *eq;
                size_t len;
                const char *problem = NULL;
                int k, known;

                lineno++;
                len = nl ? (size_t) (nl - line) : (size_t) (text + size - line);
                next = line + len + 1;
                if (memchr(line, 0, len))
                        return fail(ret_error, lineno, "NUL byte");
                if (memchr(line, '\r', len))
                        return fail(ret_error, lineno, "carriage return (lines must end with LF only)");
                if (!utf8_is_valid(line, len))
                        return fail(ret_error, lineno, "invalid UTF-8");
                if (memmem(line, len, "\xEF\xBB\xBF", 3))
                        return fail(ret_error, lineno, "byte-order mark");
                if (!nl)
                        return fail(ret_error, lineno, "last line does not end with LF");
                *nl = 0;

                eq = strchr(line, '=');
                if (eq)
                        *eq = 0;
                known = eq ? field_from_key(line) : -ENOENT;
                if (known >= n_fields)
                        known = -ENOENT;
                if (f >= n_fields)
                        return known >= 0 ? fail(ret_error, lineno, "repeated key %s", line)
                               : eq && key_is_printable(line) ? fail(ret_error, lineno, "unknown key %s", line)
                               : fail(ret_error, lineno, "unexpected line after %s", field_keys[n_fields - 1]);
                if (!eq)
                        return fail(ret_error, lineno, "not a key=value line");
                if (known < 0)
                        return key_is_printable(line)
                                ? fail(ret_error, lineno, "unknown key %s (expected %s)", line, field_keys[f])
                                : fail(ret_error, lineno, "invalid key (expected %s)", field_keys[f]);
                if (known < f)
                        return fail(ret_error, lineno, "repeated key %s", line);
                if (known > f)
                        return fail(ret_error, lineno, "missing key %s (found %s)", field_keys[f], line);

                k = field_parse(m, (Field) f, eq + 1, &problem);
                if (k == -EBADMSG)
                        return fail(ret_error, lineno, "%s: %s", field_keys[f], problem);
                if (k < 0)
                        return k;
                f++;
        }
        if (f < n_fields)
                return fail(ret_error, lineno + 1, "missing key %s", field_keys[f]);

        *ret = TAKE_PTR(m);
        return 0;
}
