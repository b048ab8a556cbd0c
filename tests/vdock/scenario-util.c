/* scenario-util.c: value grammars of scenario files and control commands
 * (scenario-private.h): §12.1 identifiers, sizes, links, numbers. */
#include "scenario-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


gboolean scenario_fail(GError **error, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        if (error)
                *error = g_error_new_valist(SCENARIO_ERROR, 1, fmt, ap);
        va_end(ap);
        return FALSE;
}

static gboolean matches(const char *s, const char *first, const char *rest, size_t min, size_t max)
{
        size_t n = strlen(s);

        if (n < min || n > max || !strchr(first, s[0]))
                return FALSE;
        for (size_t i = 1; i < n; i++)
                if (!strchr(rest, s[i]))
                        return FALSE;
        return TRUE;
}

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"

/* §12.1 grammars */
gboolean valid_serial(const char *s)
{
        return matches(s, UPPER DIGIT, UPPER DIGIT "-", 3, 32);
}

gboolean valid_recording_id(const char *s)
{
        return matches(s, UPPER LOWER DIGIT, UPPER LOWER DIGIT "._-", 1, 64) && !strstr(s, "..");
}

gboolean valid_officer(const char *s)
{
        return s[0] && matches(s, UPPER LOWER DIGIT "._-", UPPER LOWER DIGIT "._-", 1, 32);
}

gboolean valid_categories(const char *s)
{
        g_auto(GStrv) parts = NULL;

        if (!*s)
                return TRUE;
        parts = g_strsplit(s, ",", -1);
        for (int i = 0; parts[i]; i++) {
                if (!matches(parts[i], LOWER DIGIT, LOWER DIGIT "-", 1, 32))
                        return FALSE;
                for (int j = 0; j < i; j++)
                        if (strcmp(parts[i], parts[j]) == 0)
                                return FALSE;
        }
        return TRUE;
}

gboolean parse_size(const char *s, uint64_t *ret)
{
        char *end = NULL;
        guint64 v;
        int shift = 0;

        errno = 0;
        v = g_ascii_strtoull(s, &end, 10);
        if (end == s || errno)
                return FALSE;
        switch (*end) {
        case 'K': case 'k': shift = 10; end++; break;
        case 'M': case 'm': shift = 20; end++; break;
        case 'G': case 'g': shift = 30; end++; break;
        case 'T': case 't': shift = 40; end++; break;
        default: break;
        }
        if (shift && end[0] == 'i' && end[1] == 'B')
                end += 2;
        else if (*end == 'B')
                end++;
        if (*end || (shift && v > (UINT64_MAX >> shift)))
                return FALSE;
        *ret = v << shift;
        return TRUE;
}

double parse_link(const char *s, gboolean *ret_ok)
{
        char *end = NULL;
        double v;

        *ret_ok = TRUE;
        if (g_str_equal(s, "unlimited"))
                return 0;
        if (g_str_equal(s, "usb2"))
                return 40;
        if (g_str_equal(s, "usb3"))
                return 400;
        v = g_ascii_strtod(s, &end);
        *ret_ok = end != s && v > 0 && (g_str_equal(end, "") || g_str_equal(end, "MB/s"));
        return v;
}

gboolean parse_charger_fault(const char *value, ChargerFault *ret)
{
        if (g_str_equal(value, "ok") || g_str_equal(value, "none"))
                *ret = CHARGER_OK;
        else if (g_str_equal(value, "overtemp"))
                *ret = CHARGER_OVERTEMP;
        else if (g_str_equal(value, "fault"))
                *ret = CHARGER_FAULT;
        else
                return FALSE;
        return TRUE;
}

gboolean parse_u64(const char *s, uint64_t *ret)
{
        char *end = NULL;

        errno = 0;
        *ret = g_ascii_strtoull(s, &end, 0);
        return end != s && !*end && !errno;
}

gboolean parse_double(const char *s, double *ret)
{
        char *end = NULL;

        *ret = g_ascii_strtod(s, &end);
        return end != s && !*end;
}

gboolean parse_bool(const char *s)
{
        return g_str_equal(s, "true") || g_str_equal(s, "1") || g_str_equal(s, "yes");
}


/* "3x1M, 512K" → sizes */
gboolean recording_add_sizes(Recording *rec, const char *spec, GError **error)
{
        g_auto(GStrv) items = g_strsplit(spec, ",", -1);

        for (int i = 0; items[i]; i++) {
                char *item = g_strstrip(items[i]), *x = strchr(item, 'x');
                uint64_t count = 1, size;

                if (x) {
                        *x = 0;
                        if (!parse_u64(item, &count) || count > 100000)
                                return scenario_fail(error, "bad segment count '%s'", item);
                        item = x + 1;
                }
                if (!parse_size(item, &size) || size > (UINT64_C(1) << 62))
                        return scenario_fail(error, "bad segment size '%s'", item);
                while (count-- > 0 && rec->segments->len < 1000000)
                        recording_add_segment(rec, size);
        }
        return TRUE;
}
