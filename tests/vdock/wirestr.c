/* wirestr.c: camera strings as UTF-16 units (wirestr.h). */
#include "wirestr.h"

#include <string.h>

#include "ptp.h"

#define WIRESTR_ERROR g_quark_from_static_string("vdock-wirestr")

static void append_utf8(GArray *units, const char *p, size_t len)
{
        glong n = 0;
        g_autofree gunichar2 *u = g_utf8_to_utf16(p, (glong) len, NULL, &n, NULL);

        if (u)
                g_array_append_vals(units, u, (guint) n);
}

static int hex_digits(const char *p, int n, guint *ret)
{
        guint v = 0;

        for (int i = 0; i < n; i++) {
                if (!g_ascii_isxdigit(p[i]))
                        return -1;
                v = v * 16 + (guint) g_ascii_xdigit_value(p[i]);
        }
        *ret = v;
        return 0;
}

/* One escape after a backslash at p; returns the characters consumed or -1. */
static int escape(GArray *units, const char *p)
{
        static const char simple[] = "n\nt\tr\ra\ae\033s \\\\,,::";
        guint v;

        for (const char *s = simple; *s; s += 2)
                if (*p == s[0]) {
                        guint16 u = (guint16) (guint8) s[1];
                        g_array_append_val(units, u);
                        return 1;
                }
        if ((*p == 'x' && hex_digits(p + 1, 2, &v) == 0) || (*p == 'u' && hex_digits(p + 1, 4, &v) == 0)) {
                guint16 u = (guint16) v;
                g_array_append_val(units, u);
                return *p == 'x' ? 3 : 5;
        }
        return -1;
}

GArray *wirestr_parse(const char *spec, GError **error)
{
        GArray *units = g_array_new(FALSE, FALSE, sizeof(guint16));
        const char *p = spec;

        if (!g_utf8_validate(spec, -1, NULL)) {
                g_set_error(error, WIRESTR_ERROR, 1, "not UTF-8 (use \\xHH or \\uHHHH escapes)");
                g_array_unref(units);
                return NULL;
        }
        while (*p) {
                const char *bs = strchr(p, '\\');
                int n;

                if (!bs) {
                        append_utf8(units, p, strlen(p));
                        break;
                }
                append_utf8(units, p, (size_t) (bs - p));
                n = escape(units, bs + 1);
                if (n < 0) {
                        g_set_error(error, WIRESTR_ERROR, 1, "bad escape at '%.6s'", bs);
                        g_array_unref(units);
                        return NULL;
                }
                p = bs + 1 + n;
        }
        return units;
}

GArray *wirestr_from_utf8(const char *utf8)
{
        GArray *units = g_array_new(FALSE, FALSE, sizeof(guint16));

        append_utf8(units, utf8 ? utf8 : "", strlen(utf8 ? utf8 : ""));
        return units;
}

char *wirestr_to_utf8(const GArray *units)
{
        GString *s = g_string_new(NULL);

        for (guint i = 0; i < units->len; i++) {
                gunichar c = g_array_index(units, guint16, i);

                if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units->len) {
                        gunichar lo = g_array_index(units, guint16, i + 1);
                        if (lo >= 0xDC00 && lo <= 0xDFFF) {
                                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                                i++;
                        }
                }
                if (c >= 0xD800 && c <= 0xDFFF)
                        c = 0xFFFD;
                g_string_append_unichar(s, c);
        }
        return g_string_free(s, FALSE);
}

void put_wirestr(GByteArray *a, const GArray *units)
{
        guint n = MIN(units->len, 254);

        if (n == 0) {
                put_u8(a, 0);
                return;
        }
        put_u8(a, (uint8_t) (n + 1));
        for (guint i = 0; i < n; i++)
                put_u16(a, g_array_index(units, guint16, i));
        put_u16(a, 0);
}
