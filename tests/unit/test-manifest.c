/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest (§12.2): the protocol's example parses to the right values, and a
 * table of manifests that each break one rule, each rejected with the line and
 * the problem. Also the §12.1 grammars and the hex helpers. */
#include <glib.h>

#include "manifest.h"
#include "sample-manifest.h"

static const char valid[] = SAMPLE_MANIFEST;

/* Parse text (exactly len bytes, in a private allocation so that ASan sees any
 * overread). Returns the error or NULL; asserts the outputs' contract. */
static char *parse(const char *text, size_t len, Manifest **ret) {
        g_autofree uint8_t *copy = g_memdup2(text, len ? len : 1);
        Manifest *m = (Manifest *) 0x1, *sentinel = m;
        char *error = NULL;
        int r = manifest_parse(copy, len, &m, &error);

        if (r == 0) {
                g_assert_null(error);
                g_assert_true(m != sentinel);
                if (ret)
                        *ret = m;
                else
                        manifest_free(m);
                return NULL;
        }
        g_assert_cmpint(r, ==, -EBADMSG);
        g_assert_true(m == sentinel);
        g_assert_nonnull(error);
        /* Without ret_error: same verdict. */
        g_assert_cmpint(manifest_parse(copy, len, &m, NULL), ==, -EBADMSG);
        return error;
}

static void test_valid(void) {
        Manifest *m = NULL;
        char *error = parse(valid, strlen(valid), &m);
        char hex[65];

        g_assert_null(error);
        g_assert_cmpuint(m->format, ==, 1);
        g_assert_cmpstr(m->device_serial, ==, "BWC-0001");
        g_assert_cmpstr(m->model, ==, "Sentinel V3");
        g_assert_cmpstr(m->firmware, ==, "3.2.1");
        g_assert_cmpstr(m->recording_id, ==, "20261121T221500Z-0001");
        g_assert_cmpuint(m->segment_index, ==, 0);
        g_assert_cmpstr(m->file_name, ==, "000000.mp4");
        g_assert_cmpuint(m->size, ==, 268435456);
        g_assert_cmpstr(hex_sha256(m->sha256, hex), ==,
                        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        for (size_t i = 0; i < 32; i++)
                g_assert_cmpuint(m->prev[i], ==, 0);
        g_assert_cmpint(m->start_time, ==, 1795299300);
        g_assert_cmpint(m->end_time, ==, 1795299300 + 600);
        g_assert_cmpstr(m->officer_id, ==, "4711");
        g_assert_cmpuint(m->n_categories, ==, 2);
        g_assert_cmpstr(m->categories[0], ==, "arrest");
        g_assert_cmpstr(m->categories[1], ==, "use-of-force");
        g_assert_null(m->categories[2]);
        manifest_free(m);
        g_assert_null(manifest_free(NULL));
}

/* Replace the line of key (or the whole manifest's text for key NULL). */
static char *with_line(const char *key, const char *line) {
        g_auto(GStrv) lines = g_strsplit(valid, "\n", -1);
        GString *s = g_string_new(NULL);
        g_autofree char *prefix = g_strconcat(key, "=", NULL);

        for (char **l = lines; *l && **l; l++) {
                if (g_str_has_prefix(*l, prefix)) {
                        if (line)
                                g_string_append_printf(s, "%s\n", line);
                        continue;
                }
                g_string_append_printf(s, "%s\n", *l);
        }
        return g_string_free(s, FALSE);
}

static void test_valid_variants(void) {
        /* Edges that are valid. */
        static const struct {
                const char *key, *line;
        } ok[] = {
                { "categories", "categories=" },
                { "categories", "categories=a" },
                { "categories", "categories=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p" },
                { "categories", "categories=0123456789abcdef0123456789abcdef" },
                { "model", "model=x" },
                { "model", "model=Sentinel ⅴ3 — caméra 🎥" },
                { "model", "model=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
                { "model", "model=a=b" },
                { "model", "model= padded " },
                { "firmware", "firmware=ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé" },
                { "size", "size=0" },
                { "size", "size=9223372036854775807" },
                { "end_time", "end_time=2026-11-21T22:15:00Z" },
                { "officer_id", "officer_id=a.b_c-D" },
                { "officer_id", "officer_id=12345678901234567890123456789012" },
                { "recording_id", "recording_id=a" },
                { "recording_id", "recording_id=a.b" },
                { "device_serial", "device_serial=ABC" },
                { "device_serial", "device_serial=0BWC-0001-AAAAAAAAAAAAAAAAAAAAAA" },
                { "start_time", "start_time=2024-02-29T00:00:00Z" },
                { "sha256", "sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
                g_autofree char *text = with_line(ok[i].key, ok[i].line);
                g_autofree char *error = parse(text, strlen(text), NULL);

                if (error)
                        g_error("rejected valid \"%s\": %s", ok[i].line, error);
        }

        /* Segment index and file name together. */
        {
                g_autofree char *a = with_line("segment_index", "segment_index=999999");
                g_auto(GStrv) parts = g_strsplit(a, "file_name=000000.mp4", 2);
                g_autofree char *text = g_strjoinv("file_name=999999.mp4", parts);
                Manifest *m = NULL;
                g_autofree char *error = parse(text, strlen(text), &m);

                g_assert_null(error);
                g_assert_cmpuint(m->segment_index, ==, 999999);
                g_assert_cmpstr(m->file_name, ==, "999999.mp4");
                manifest_free(m);
        }
        /* Empty categories: an empty, NULL-terminated list. */
        {
                g_autofree char *text = with_line("categories", "categories=");
                Manifest *m = NULL;
                g_autofree char *error = parse(text, strlen(text), &m);

                g_assert_null(error);
                g_assert_cmpuint(m->n_categories, ==, 0);
                g_assert_nonnull(m->categories);
                g_assert_null(m->categories[0]);
                manifest_free(m);
        }
}

typedef struct BadCase {
        const char *rule;
        const char *key;          /* line to replace; NULL: text is the whole manifest */
        const char *line;         /* replacement; NULL: delete the line */
        const char *error;        /* expected message, exactly */
} BadCase;

static const BadCase bad_cases[] = {
        /* structure */
        { "missing key", "model", NULL, "line 3: missing key model (found firmware)" },
        { "missing last key", "categories", NULL, "line 14: missing key categories" },
        { "unknown key", "model", "modle=Sentinel V3", "line 3: unknown key modle (expected model)" },
        { "upper-case key", "model", "Model=Sentinel V3", "line 3: invalid key (expected model)" },
        { "key with space", "model", "model =Sentinel V3", "line 3: invalid key (expected model)" },
        { "no =", "model", "model", "line 3: not a key=value line" },
        { "empty line", "model", "", "line 3: not a key=value line" },
        { "repeated key", "model", "model=A\nmodel=B", "line 4: repeated key model" },
        { "reordered keys", "model", "firmware=3.2.1\nmodel=Sentinel V3", "line 3: missing key model (found firmware)" },
        { "key after the last", "categories", "categories=\nformat=1", "line 15: repeated key format" },
        { "unknown key after the last", "categories", "categories=\nextra=1", "line 15: unknown key extra" },
        { "empty line at the end", "categories", "categories=\n", "line 15: unexpected line after categories" },
        { "text after the last", "categories", "categories=\nthe end", "line 15: unexpected line after categories" },
        /* format */
        { "format 2", "format", "format=2", "line 1: format: unsupported format (only 1)" },
        { "format 01", "format", "format=01", "line 1: format: unsupported format (only 1)" },
        { "format empty", "format", "format=", "line 1: format: unsupported format (only 1)" },
        /* serial */
        { "serial lower case", "device_serial", "device_serial=bwc-0001", "line 2: device_serial: not a valid serial" },
        { "serial too short", "device_serial", "device_serial=AB", "line 2: device_serial: not a valid serial" },
        { "serial too long", "device_serial", "device_serial=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "line 2: device_serial: not a valid serial" },
        { "serial leading dash", "device_serial", "device_serial=-BWC", "line 2: device_serial: not a valid serial" },
        { "serial space", "device_serial", "device_serial=BWC 1", "line 2: device_serial: not a valid serial" },
        { "serial empty", "device_serial", "device_serial=", "line 2: device_serial: not a valid serial" },
        /* model, firmware */
        { "model empty", "model", "model=", "line 3: model: empty" },
        { "model 65 chars", "model", "model=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "line 3: model: longer than 64 characters" },
        { "model tab", "model", "model=Sentinel\tV3", "line 3: model: control or formatting character" },
        { "model DEL", "model", "model=Sentinel\x7fV3", "line 3: model: control or formatting character" },
        { "model C1", "model", "model=Sentinel\xc2\x85V3", "line 3: model: control or formatting character" },
        { "model bidi override", "model", "model=Sentinel\xe2\x80\xaeV3", "line 3: model: control or formatting character" },
        { "model line separator", "model", "model=Sentinel\xe2\x80\xa8V3", "line 3: model: control or formatting character" },
        { "firmware empty", "firmware", "firmware=", "line 4: firmware: empty" },
        { "firmware escape", "firmware", "firmware=3.2\x1b[1m", "line 4: firmware: control or formatting character" },
        /* recording id */
        { "recording id ..", "recording_id", "recording_id=a..b", "line 5: recording_id: not a valid recording id" },
        { "recording id leading dot", "recording_id", "recording_id=.a", "line 5: recording_id: not a valid recording id" },
        { "recording id slash", "recording_id", "recording_id=a/b", "line 5: recording_id: not a valid recording id" },
        { "recording id empty", "recording_id", "recording_id=", "line 5: recording_id: not a valid recording id" },
        { "recording id 65 chars", "recording_id", "recording_id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "line 5: recording_id: not a valid recording id" },
        /* segment index */
        { "segment index leading zero", "segment_index", "segment_index=00", "line 6: segment_index: leading zero" },
        { "segment index 1000000", "segment_index", "segment_index=1000000", "line 6: segment_index: out of range" },
        { "segment index negative", "segment_index", "segment_index=-1", "line 6: segment_index: not a decimal number" },
        { "segment index plus", "segment_index", "segment_index=+1", "line 6: segment_index: not a decimal number" },
        { "segment index hex", "segment_index", "segment_index=0x1", "line 6: segment_index: not a decimal number" },
        { "segment index empty", "segment_index", "segment_index=", "line 6: segment_index: empty" },
        { "segment index space", "segment_index", "segment_index= 0", "line 6: segment_index: not a decimal number" },
        { "segment index huge", "segment_index", "segment_index=99999999999999999999999", "line 6: segment_index: out of range" },
        /* file name */
        { "file name mismatch", "file_name", "file_name=000001.mp4", "line 7: file_name: does not match segment_index" },
        { "file name short", "file_name", "file_name=0.mp4", "line 7: file_name: does not match segment_index" },
        { "file name upper case", "file_name", "file_name=000000.MP4", "line 7: file_name: does not match segment_index" },
        { "file name path", "file_name", "file_name=../000000.mp4", "line 7: file_name: does not match segment_index" },
        /* size */
        { "size 2^63", "size", "size=9223372036854775808", "line 8: size: out of range" },
        { "size leading zero", "size", "size=0268435456", "line 8: size: leading zero" },
        { "size negative", "size", "size=-1", "line 8: size: not a decimal number" },
        { "size unit", "size", "size=256M", "line 8: size: not a decimal number" },
        { "size empty", "size", "size=", "line 8: size: empty" },
        /* sha256, prev */
        { "sha256 upper case", "sha256", "sha256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", "line 9: sha256: not 64 lower-case hex digits" },
        { "sha256 63 digits", "sha256", "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0", "line 9: sha256: not 64 lower-case hex digits" },
        { "sha256 65 digits", "sha256", "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a080", "line 9: sha256: not 64 lower-case hex digits" },
        { "sha256 non-hex", "sha256", "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g", "line 9: sha256: not 64 lower-case hex digits" },
        { "prev empty", "prev", "prev=", "line 10: prev: not 64 lower-case hex digits" },
        { "prev spaces", "prev", "prev=00000000000000000000000000000000 0000000000000000000000000000000", "line 10: prev: not 64 lower-case hex digits" },
        /* times */
        { "Feb 30", "start_time", "start_time=2026-02-30T22:15:00Z", "line 11: start_time: no such date or time" },
        { "Feb 29 non-leap", "start_time", "start_time=2026-02-29T22:15:00Z", "line 11: start_time: no such date or time" },
        { "Feb 29 1900", "start_time", "start_time=1900-02-29T22:15:00Z", "line 11: start_time: no such date or time" },
        { "Apr 31", "start_time", "start_time=2026-04-31T22:15:00Z", "line 11: start_time: no such date or time" },
        { "month 13", "start_time", "start_time=2026-13-01T22:15:00Z", "line 11: start_time: no such date or time" },
        { "month 0", "start_time", "start_time=2026-00-01T22:15:00Z", "line 11: start_time: no such date or time" },
        { "day 0", "start_time", "start_time=2026-01-00T22:15:00Z", "line 11: start_time: no such date or time" },
        { "hour 24", "start_time", "start_time=2026-11-21T24:00:00Z", "line 11: start_time: no such date or time" },
        { "minute 60", "start_time", "start_time=2026-11-21T22:60:00Z", "line 11: start_time: no such date or time" },
        { "leap second", "start_time", "start_time=2016-12-31T23:59:60Z", "line 11: start_time: no such date or time" },
        { "no Z", "start_time", "start_time=2026-11-21T22:15:00", "line 11: start_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        { "offset", "start_time", "start_time=2026-11-21T22:15:00+00:00", "line 11: start_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        { "fraction", "start_time", "start_time=2026-11-21T22:15:00.5Z", "line 11: start_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        { "lower-case t", "start_time", "start_time=2026-11-21t22:15:00Z", "line 11: start_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        { "lower-case z", "start_time", "start_time=2026-11-21T22:15:00z", "line 11: start_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        { "space separator", "start_time", "start_time=2026-11-21 22:15:00Z", "line 11: start_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        { "compact form", "start_time", "start_time=20261121T221500Z", "line 11: start_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        { "end Feb 30", "end_time", "end_time=2026-02-30T22:15:00Z", "line 12: end_time: no such date or time" },
        { "end before start", "end_time", "end_time=2026-11-21T22:14:59Z", "line 12: end_time: before start_time" },
        { "end empty", "end_time", "end_time=", "line 12: end_time: not a UTC time of the form 2026-11-21T22:15:00Z" },
        /* officer id */
        { "officer id empty", "officer_id", "officer_id=", "line 13: officer_id: not a valid officer id" },
        { "officer id 33 chars", "officer_id", "officer_id=123456789012345678901234567890123", "line 13: officer_id: not a valid officer id" },
        { "officer id slash", "officer_id", "officer_id=47/11", "line 13: officer_id: not a valid officer id" },
        { "officer id space", "officer_id", "officer_id=47 11", "line 13: officer_id: not a valid officer id" },
        /* categories */
        { "category duplicate", "categories", "categories=arrest,arrest", "line 14: categories: duplicate category" },
        { "category space", "categories", "categories=arrest, use-of-force", "line 14: categories: invalid category" },
        { "category upper case", "categories", "categories=Arrest", "line 14: categories: invalid category" },
        { "category leading dash", "categories", "categories=-arrest", "line 14: categories: invalid category" },
        { "category trailing comma", "categories", "categories=arrest,", "line 14: categories: empty category" },
        { "category leading comma", "categories", "categories=,arrest", "line 14: categories: empty category" },
        { "category double comma", "categories", "categories=a,,b", "line 14: categories: empty category" },
        { "category only comma", "categories", "categories=,", "line 14: categories: empty category" },
        { "category 33 chars", "categories", "categories=0123456789abcdef0123456789abcdefg", "line 14: categories: invalid category" },
        { "17 categories", "categories", "categories=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "line 14: categories: more than 16 categories" },
        { "category underscore", "categories", "categories=use_of_force", "line 14: categories: invalid category" },
};

/* Whole-text cases: bytes the line table cannot express. */
static void test_bad_bytes(void) {
        g_autofree char *big = NULL;
        GString *s;

        /* Empty, no final LF, CRLF, NUL, BOM, invalid UTF-8, overlong, surrogate. */
        struct {
                const char *rule;
                char *text;
                size_t len;
                const char *error;
        } cases[] = {
                { "empty", g_strdup(""), 0, "empty manifest" },
                { "no final LF", g_strndup(valid, strlen(valid) - 1), strlen(valid) - 1, "line 14: last line does not end with LF" },
                { "CRLF", with_line("format", "format=1\r"), 0, "line 1: carriage return (lines must end with LF only)" },
                { "CR inside", with_line("model", "model=a\rb"), 0, "line 3: carriage return (lines must end with LF only)" },
                { "BOM", g_strconcat("\xEF\xBB\xBF", valid, NULL), 0, "line 1: byte-order mark" },
                { "BOM inside", with_line("model", "model=a\xEF\xBB\xBF"), 0, "line 3: byte-order mark" },
                { "invalid UTF-8", with_line("model", "model=\xC3("), 0, "line 3: invalid UTF-8" },
                { "overlong UTF-8", with_line("model", "model=\xC0\xAF"), 0, "line 3: invalid UTF-8" },
                { "UTF-8 surrogate", with_line("firmware", "firmware=\xED\xA0\x80"), 0, "line 4: invalid UTF-8" },
                { "Latin-1", with_line("model", "model=cam\xE9ra"), 0, "line 3: invalid UTF-8" },
                { "only LF", g_strdup("\n"), 0, "line 1: not a key=value line" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
                g_autofree char *error = parse(cases[i].text, len, NULL);

                if (!error || !g_str_equal(error, cases[i].error))
                        g_error("%s: got \"%s\", expected \"%s\"", cases[i].rule, error, cases[i].error);
                g_free(cases[i].text);
        }

        /* A NUL byte inside a value. */
        {
                g_autofree char *text = g_strdup(valid);
                char *model = strstr(text, "Sentinel");
                g_autofree char *error = NULL;

                model[3] = 0;
                error = parse(text, strlen(valid), NULL);
                g_assert_cmpstr(error, ==, "line 3: NUL byte");
        }
        /* Larger than 4096 bytes, even if otherwise valid... */
        s = g_string_new(NULL);
        while (s->len <= 4096)
                g_string_append(s, "format=1\n");
        big = g_string_free(s, FALSE);
        {
                g_autofree char *error = parse(big, strlen(big), NULL);
                g_assert_cmpstr(error, ==, "larger than 4096 bytes");
        }
        /* ... and 4096 bytes exactly is parsed (here: fails on content, not size). */
        {
                g_autofree char *error = parse(big, 4096, NULL);
                g_assert_cmpstr(error, ==, "line 2: repeated key format");
        }
        /* Every prefix of the valid manifest is invalid. */
        for (size_t i = 0; i < strlen(valid); i++) {
                g_autofree char *error = parse(valid, i, NULL);
                g_assert_nonnull(error);
                g_assert_true(i == 0 || g_str_has_prefix(error, "line "));
        }
}

static void test_bad_lines(void) {
        for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
                const BadCase *c = &bad_cases[i];
                g_autofree char *text = with_line(c->key, c->line);
                g_autofree char *error = parse(text, strlen(text), NULL);

                if (!error)
                        g_error("%s: accepted", c->rule);
                if (!g_str_equal(error, c->error))
                        g_error("%s: got \"%s\", expected \"%s\"", c->rule, error, c->error);
        }
}

static void test_grammars(void) {
        static const char *const serials_ok[] = { "BWC-0001", "ABC", "0-0", "A--", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" };
        static const char *const serials_bad[] = { "", "AB", "-AB", "abc", "AB_C", "AB C", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "BWC-É" };
        static const char *const recs_ok[] = { "a", "A.b_c-9", "20261121T221500Z-0001", "a.b.c", "a-" };
        static const char *const recs_bad[] = { "", ".a", "-a", "_a", "a..b", "a/b", "a b", "é" };
        static const char *const officers_ok[] = { "4711", ".", "-", "_", "a.B-c_9", "12345678901234567890123456789012" };
        static const char *const officers_bad[] = { "", "a b", "a/b", "a:b", "123456789012345678901234567890123" };
        static const char *const cats_ok[] = { "arrest", "use-of-force", "0", "a-", "0123456789abcdef0123456789abcdef" };
        static const char *const cats_bad[] = { "", "-a", "Arrest", "a_b", "a b", "a,b", "0123456789abcdef0123456789abcdef0" };

        for (size_t i = 0; i < G_N_ELEMENTS(serials_ok); i++)
                g_assert_true(serial_is_valid(serials_ok[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(serials_bad); i++)
                g_assert_false(serial_is_valid(serials_bad[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(recs_ok); i++)
                g_assert_true(recording_id_is_valid(recs_ok[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(recs_bad); i++)
                g_assert_false(recording_id_is_valid(recs_bad[i]));
        {
                char s[66];
                memset(s, 'a', 64);
                s[64] = 0;
                g_assert_true(recording_id_is_valid(s));
                s[64] = 'a';
                s[65] = 0;
                g_assert_false(recording_id_is_valid(s));
        }
        for (size_t i = 0; i < G_N_ELEMENTS(officers_ok); i++)
                g_assert_true(officer_id_is_valid(officers_ok[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(officers_bad); i++)
                g_assert_false(officer_id_is_valid(officers_bad[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(cats_ok); i++)
                g_assert_true(category_is_valid(cats_ok[i]));
        for (size_t i = 0; i < G_N_ELEMENTS(cats_bad); i++)
                g_assert_false(category_is_valid(cats_bad[i]));
        g_assert_false(serial_is_valid(NULL));
        g_assert_false(recording_id_is_valid(NULL));
        g_assert_false(officer_id_is_valid(NULL));
        g_assert_false(category_is_valid(NULL));
}

static void test_hex(void) {
        uint8_t sha[32], back[32];
        char buf[65];

        for (size_t i = 0; i < 32; i++)
                sha[i] = (uint8_t) (i * 37 + 5);
        g_assert_true(hex_sha256(sha, buf) == buf);
        g_assert_cmpuint(strlen(buf), ==, 64);
        g_assert_cmpint(unhex_sha256(buf, back), ==, 0);
        g_assert_cmpmem(sha, 32, back, 32);
        g_assert_cmpstr(hex_sha256((const uint8_t[32]) { 0xAB, 0x01 }, buf), ==,
                        "ab01000000000000000000000000000000000000000000000000000000000000");

        memset(back, 0x77, sizeof back);
        g_assert_cmpint(unhex_sha256("", back), ==, -EINVAL);
        g_assert_cmpint(unhex_sha256(NULL, back), ==, -EINVAL);
        g_assert_cmpint(unhex_sha256("AB01000000000000000000000000000000000000000000000000000000000000", back), ==, -EINVAL);
        g_assert_cmpint(unhex_sha256("ab0100000000000000000000000000000000000000000000000000000000000", back), ==, -EINVAL);
        g_assert_cmpint(unhex_sha256("ab01000000000000000000000000000000000000000000000000000000000000 ", back), ==, -EINVAL);
        g_assert_cmpint(unhex_sha256("ab0100000000000000000000000000000000000000000000000000000000000g", back), ==, -EINVAL);
        for (size_t i = 0; i < 32; i++)
                g_assert_cmpuint(back[i], ==, 0x77);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/manifest/valid", test_valid);
        g_test_add_func("/manifest/valid-variants", test_valid_variants);
        g_test_add_func("/manifest/bad-lines", test_bad_lines);
        g_test_add_func("/manifest/bad-bytes", test_bad_bytes);
        g_test_add_func("/manifest/grammars", test_grammars);
        g_test_add_func("/manifest/hex", test_hex);
        return g_test_run();
}
