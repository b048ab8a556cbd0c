/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration: valid files, every kind of bad value, unknown sections and keys,
 * drop-in order, FILE:LINE in every error, malformed INI input. */
#include <glib.h>
#include <glib/gstdio.h>

#include "dockd-config.h"
#include "glob-match.h"
#include "parse-util.h"

typedef struct Fixture {
        char *dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        f->dir = g_dir_make_tmp("dockd-test-config-XXXXXX", NULL);
        g_assert_nonnull(f->dir);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->dir);
}

static char *write_file(Fixture *f, const char *name, const char *data, gssize len) {
        char *path = g_build_filename(f->dir, name, NULL);
        g_autofree char *parent = g_path_get_dirname(path);

        g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
        g_assert_true(g_file_set_contents(path, data, len, NULL));
        return path;
}

/* Load one text; returns the error (NULL on success). */
static char *load_text(Fixture *f, const char *text, gssize len, DockdConfig **ret) {
        g_autofree char *path = write_file(f, "dockd.conf", text, len);
        DockdConfig *c = config_new();
        char *error = NULL;
        int r;

        g_assert_nonnull(c);
        r = config_load(c, path, &error);
        if (r >= 0)
                r = config_validate(c, &error);
        if (r >= 0)
                g_assert_null(error);
        else
                g_assert_nonnull(error);
        if (ret)
                *ret = c;
        else
                config_free(c);
        return error;
}

static void test_defaults(Fixture *f, gconstpointer data) {
        DockdConfig *c = NULL;
        g_autofree char *err = load_text(f, "", 0, &c);

        g_assert_null(err);
        g_assert_cmpstr(c->dock_name, ==, "dock");
        g_assert_cmpuint(c->n_bays, ==, 4);
        g_assert_cmpuint(c->usb_transfer_size, ==, 1 * MiB);
        g_assert_cmpuint(c->usb_transfers_in_flight, ==, 2);
        g_assert_cmpint(c->storage_backend, ==, STORAGE_BACKEND_FILE);
        g_assert_cmpuint(c->retention_default, ==, 90ULL * 86400 * USEC_PER_SEC);
        g_assert_cmpstr(c->bays[2].port, ==, "1-1.3");
        g_assert_cmpstr(c->bays[2].charger, ==, "dock-bay3");
        g_assert_nonnull(config_find_category(c, "arrest"));
        g_assert_cmpuint(config_find_category(c, "arrest")->retention, ==, 4ULL * 365 * 86400 * USEC_PER_SEC);
        config_free(c);
}

static void test_valid(Fixture *f, gconstpointer data) {
        static const char text[] =
                "# a comment\n"
                "; another\n"
                "[dock]\n"
                "name = precinct-7.dock-2\n"
                "bays=8\n"
                "  clock_drift_threshold = 500ms   ; inline comment\n"
                "removal_debounce=2s\n"
                "[usb]\n"
                "transfer_size=512K\n"
                "chunk_size=64MiB\n"
                "[spool]\n"
                "quota=2G\n"
                "keep_confirmed=1d 12h\n"
                "[storage]\n"
                "backend=s3\n"
                "prefix=agency/precinct-7\n"
                "bandwidth_limit=10M\n"
                "[s3]\n"
                "endpoint=https://s3.example.org:9000\n"
                "bucket=bwc-evidence\n"
                "credentials=s3-credentials\n"
                "part_size=32M\n"
                "object_lock=yes\n"
                "object_lock_mode=governance\n"
                "[retention]\n"
                "default=180d\n"
                "[category.traffic-stop]\n"
                "retention=2y\n"
                "[category.arrest]\n"
                "legal_hold=true\n"
                "[health]\n"
                "min_battery_health=75%\n"
                "[bay.8]\n"
                "port=2-3.1\n"
                "enabled=no\n"
                "[log]\n"
                "level=debug\n";
        DockdConfig *c = NULL;
        g_autofree char *err = load_text(f, text, -1, &c);
        const char *cats[] = { "traffic-stop", "unknown" };

        g_assert_null(err);
        g_assert_cmpstr(c->dock_name, ==, "precinct-7.dock-2");
        g_assert_cmpuint(c->n_bays, ==, 8);
        g_assert_cmpuint(c->clock_drift_threshold, ==, 500 * USEC_PER_MSEC);
        g_assert_cmpuint(c->usb_transfer_size, ==, 512 * KiB);
        g_assert_cmpuint(c->usb_chunk_size, ==, 64 * MiB);
        g_assert_cmpuint(c->spool_keep_confirmed, ==, 36 * 3600 * USEC_PER_SEC);
        g_assert_cmpint(c->storage_backend, ==, STORAGE_BACKEND_S3);
        g_assert_cmpstr(c->storage_prefix, ==, "agency/precinct-7");
        g_assert_cmpuint(c->storage_bandwidth_limit, ==, 10 * MiB);
        g_assert_true(c->s3_object_lock);
        g_assert_cmpint(c->s3_object_lock_mode, ==, OBJECT_LOCK_GOVERNANCE);
        g_assert_cmpuint(c->health_min_battery, ==, 75);
        g_assert_cmpstr(c->bays[7].port, ==, "2-3.1");
        g_assert_false(c->bays[7].enabled);
        g_assert_cmpint(c->log_level, ==, LOG_DEBUG);
        g_assert_true(config_find_category(c, "arrest")->legal_hold);
        g_assert_true(config_find_category(c, "arrest")->evidentiary);
        g_assert_cmpuint(config_retention(c, cats, 2), ==, 2ULL * 365 * 86400 * USEC_PER_SEC);
        g_assert_cmpuint(config_retention(c, cats + 1, 1), ==, 180ULL * 86400 * USEC_PER_SEC);
        config_free(c);
}

typedef struct BadCase {
        const char *text;
        const char *expect;   /* substring of the error, after "dockd.conf:LINE: " */
        unsigned line;
} BadCase;

static const BadCase bad_cases[] = {
        /* unknown sections and keys */
        { "[dok]\nname=x\n", "unknown section [dok]", 1 },
        { "[dok]\n", "unknown section [dok]", 1 },
        { "[dock]\nnmae=x\n", "unknown key 'nmae' in section [dock]", 2 },
        { "[dock]\nname=x\n[usb]\nbays=2\n", "unknown key 'bays' in section [usb]", 4 },
        { "name=x\n", "outside of any section", 1 },
        { "[bay]\nport=1-1.1\n", "needs a name", 1 },
        { "[bay.0]\n", "bay number must be 1 to 15", 1 },
        { "[bay.16]\n", "bay number must be 1 to 15", 1 },
        { "[bay.x]\n", "bay number must be 1 to 15", 1 },
        { "[category.Arrest]\n", "category name", 1 },
        { "[category.]\n", "category name", 1 },
        { "[category.arrest]\nretain=4y\n", "unknown key 'retain'", 2 },
        /* duplicates */
        { "[dock]\nname=a\nname=b\n", "duplicate key 'name'", 3 },
        /* bad values, by type */
        { "[dock]\nname=\n", "must not be empty", 2 },
        { "[dock]\nname=a b\n", "must be 1-64 characters", 2 },
        { "[dock]\nname=../etc\n", "must be 1-64 characters", 2 },
        { "[dock]\nstate_dir=relative/path\n", "absolute path", 2 },
        { "[dock]\nstate_dir=/var/../etc\n", "absolute path", 2 },
        { "[dock]\nbays=0\n", "out of range (1 to 15)", 2 },
        { "[dock]\nbays=-1\n", "not a non-negative integer", 2 },
        { "[dock]\nbays=4x\n", "not a non-negative integer", 2 },
        { "[dock]\nbays=99999999999999999999999\n", "out of range", 2 },
        { "[dock]\nhub=usb1\n", "USB port path", 2 },
        { "[dock]\nclock_set=maybe\n", "not a boolean", 2 },
        { "[dock]\nclock_drift_threshold=1 fortnight\n", "not a duration", 2 },
        { "[dock]\nclock_drift_threshold=2d\n", "out of range", 2 },
        { "[dock]\nremoval_debounce=-1s\n", "not a duration", 2 },
        { "[usb]\ntransfer_size=16Q\n", "not a size", 2 },
        { "[usb]\ntransfer_size=1K\n", "out of range (16K to 16M)", 2 },
        { "[usb]\ntransfer_size=99999999999999999999T\n", "too large", 2 },
        { "[usb]\ntransfer_size=18014398509481984T\n", "too large", 2 },
        { "[storage]\nbackend=ftp\n", "must be one of: file, s3, tus", 2 },
        { "[storage]\nprefix=/abs\n", "separated by single '/'", 2 },
        { "[storage]\nprefix=a//b\n", "separated by single '/'", 2 },
        { "[storage]\nprefix=a/../b\n", "separated by single '/'", 2 },
        { "[s3]\nendpoint=ftp://x\n", "http:// or https://", 2 },
        { "[s3]\nendpoint=https://user:pw@host/\n", "must not carry credentials", 2 },
        { "[s3]\nendpoint=https://\n", "has no host", 2 },
        { "[s3]\nbucket=Upper_Case\n", "valid S3 bucket name", 2 },
        { "[s3]\nbucket=ab\n", "valid S3 bucket name", 2 },
        { "[s3]\npart_size=1M\n", "out of range (5M to 5G)", 2 },
        { "[s3]\nurl_style=host\n", "must be one of: path, virtual", 2 },
        { "[health]\nmin_battery_health=120%\n", "percentage", 2 },
        { "[log]\nlevel=loud\n", "must be one of", 2 },
        /* [generic.NAME]: allow-listed cameras that do not sign */
        { "[generic]\nusb_id=1d6b:0100\n", "needs a name", 1 },
        { "[generic.Phone]\n", "camera name", 1 },
        { "[generic.cam]\nusb_id=1d6b\n", "USB vendor and product ID", 2 },
        { "[generic.cam]\nusb_id=1d6b:01000\n", "USB vendor and product ID", 2 },
        { "[generic.cam]\nusb_id= 1d6:0100\n", "USB vendor and product ID", 2 },
        { "[generic.cam]\nusb_id=+d6b:0100\n", "USB vendor and product ID", 2 },
        { "[generic.cam]\nusb_id=xd6b:0100\n", "USB vendor and product ID", 2 },
        { "[generic.cam]\nserials=A  B\n", "separated by single spaces", 2 },
        { "[generic.cam]\nserials=A ../x\n", "separated by single spaces", 2 },
        { "[generic.cam]\nrecordings=/DCIM/*.MP4\n", "relative path patterns", 2 },
        { "[generic.cam]\nrecordings=DCIM/../*.MP4\n", "relative path patterns", 2 },
        { "[generic.cam]\nrecordings=DCIM//*.MP4\n", "relative path patterns", 2 },
        { "[generic.cam]\nrecordings=DCIM/a**/*.MP4\n", "relative path patterns", 2 },
        { "[generic.cam]\nrecordings=DCIM\\x/*.MP4\n", "relative path patterns", 2 },
        { "[generic.cam]\nrecordings=**/**/**/**/**/*.MP4\n", "relative path patterns", 2 },
        { "[generic.cam]\nmin_age=31d\n", "out of range", 2 },
        { "[generic.cam]\nrecordings=DCIM/**/*.MP4\n", "needs usb_id=", 2 },
        { "[generic.cam]\ndelete_after_confirm=yes\nusb_id=1d6b:0100\n", "needs recordings=", 2 },
        /* cross-key checks point at the key responsible */
        { "[storage]\nbackend=s3\n", "needs [s3] endpoint=", 2 },
        { "[storage]\nbackend=tus\n", "needs [tus] endpoint=", 2 },
        { "[storage]\nbackend=s3\n[s3]\nendpoint=http://x\nbucket=abc\ncredentials=c\npart_size=8M\nsingle_put_threshold=9M\n",
          "must not exceed part_size", 8 },
        { "[dock]\nbays=2\n[bay.3]\nport=1-1.3\n", "but [dock] bays=2", 4 },
        { "[bay.1]\nport=1-1.2\n[bay.2]\nport=1-1.2\n", "already bay 1's", 4 },
        { "[usb]\ntransfer_size=4M\nchunk_size=2M\n", "at least transfer_size", 3 },
        /* malformed INI */
        { "[dock\nname=x\n", "syntax error", 1 },
        { "[dock]\nname\n", "syntax error", 2 },
        { "[dock]\n=x\n", "syntax error", 2 },
        { "[dock]\nname=x", NULL, 0 },   /* no final newline: fine */
};

static void test_bad(Fixture *f, gconstpointer data) {
        for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
                const BadCase *b = &bad_cases[i];
                g_autofree char *err = load_text(f, b->text, -1, NULL);
                g_autofree char *prefix = NULL;

                g_test_message("case %zu: %s -> %s", i, b->text, err ?: "(ok)");
                if (!b->expect) {
                        g_assert_null(err);
                        continue;
                }
                g_assert_nonnull(err);
                prefix = g_strdup_printf("%s/dockd.conf:%u: ", f->dir, b->line);
                g_assert_true(g_str_has_prefix(err, prefix));
                g_assert_nonnull(strstr(err, b->expect));
        }
}

/* Bytes no editor should produce: each rejected with FILE:LINE, no crash. */
#define S(x) x, sizeof(x) - 1
static void test_malformed_bytes(Fixture *f, gconstpointer data) {
        static const struct {
                const char *text;
                size_t len;
                unsigned line;
                const char *expect;
        } cases[] = {
                { S("[dock]\nname=a\0b\n"), 2, "NUL byte" },
                { S("\0"), 1, "NUL byte" },
                { S("[dock]\nname=\xff\xfe\n"), 2, "not valid UTF-8" },
                { S("[dock]\nname=\xc0\xaf\n"), 2, "not valid UTF-8" },          /* overlong '/' */
                { S("[dock]\nname=\xed\xa0\x80\n"), 2, "not valid UTF-8" },      /* surrogate */
                { S("[dock]\nname=\xe2\x82\n"), 2, "not valid UTF-8" },          /* truncated */
                { S("[dock]\nname=caf\xc3\xa9\n"), 2, "must be 1-64" },          /* valid UTF-8, bad name */
                { S("[dock]\nname=a\x01" "b\n"), 2, "control characters" },
                { S("\xef\xbb\xbf[dock]\nname=bom\n"), 0, NULL },                /* BOM is fine */
                { S("[dock]\r\nname=crlf\r\n"), 0, NULL },                       /* CRLF is fine */
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *err = load_text(f, cases[i].text, (gssize) cases[i].len, NULL);
                g_autofree char *prefix = NULL;

                g_test_message("case %zu -> %s", i, err ?: "(ok)");
                if (!cases[i].expect) {
                        g_assert_null(err);
                        continue;
                }
                g_assert_nonnull(err);
                prefix = g_strdup_printf("%s/dockd.conf:%u: ", f->dir, cases[i].line);
                g_assert_true(g_str_has_prefix(err, prefix));
                g_assert_nonnull(strstr(err, cases[i].expect));
        }
}

static void test_huge(Fixture *f, gconstpointer data) {
        g_autofree char *long_line = g_strdup_printf("[dock]\nname=%0300d\n", 1);
        g_autofree char *err1 = load_text(f, long_line, -1, NULL);
        GString *big = g_string_new("[dock]\n");
        g_autofree char *err2 = NULL;
        g_autofree char *prefix = g_strdup_printf("%s/dockd.conf:2: line is too long", f->dir);

        g_assert_nonnull(err1);
        g_assert_true(g_str_has_prefix(err1, prefix));

        /* A file beyond 64 KiB is refused before parsing. */
        while (big->len < 70 * 1024)
                g_string_append(big, "# padding padding padding padding padding padding padding\n");
        err2 = load_text(f, big->str, (gssize) big->len, NULL);
        g_assert_nonnull(err2);
        g_assert_nonnull(strstr(err2, "larger than 64 KiB"));
        g_string_free(big, TRUE);
}

static void test_dropins(Fixture *f, gconstpointer data) {
        g_autofree char *main_path = write_file(f, "dockd.conf", "[dock]\nname=main\nbays=6\n", -1);
        g_autofree char *bad = NULL;
        DockdConfig *c = config_new();
        char *error = NULL;

        g_free(write_file(f, "dockd.conf.d/20-b.conf", "[dock]\nname=second\n", -1));
        g_free(write_file(f, "dockd.conf.d/10-a.conf", "[dock]\nname=first\nbays=2\n", -1));
        g_free(write_file(f, "dockd.conf.d/30-c.conf.disabled", "[bogus]\n", -1));
        g_assert_cmpint(config_load(c, main_path, &error), ==, 0);
        g_assert_cmpstr(c->dock_name, ==, "second");   /* 20-b after 10-a */
        g_assert_cmpuint(c->n_bays, ==, 2);            /* 10-a overrides the main file */
        config_free(c);

        /* An error in a drop-in names the drop-in. */
        bad = write_file(f, "dockd.conf.d/40-d.conf", "[dock]\n\nbays=x\n", -1);
        c = config_new();
        g_assert_cmpint(config_load(c, main_path, &error), <, 0);
        g_assert_nonnull(strstr(error, "dockd.conf.d/40-d.conf:3: "));
        free(error);
        config_free(c);
}

static void test_missing(Fixture *f, gconstpointer data) {
        g_autofree char *path = g_build_filename(f->dir, "nope.conf", NULL);
        DockdConfig *c = config_new();
        char *error = NULL;

        g_assert_cmpint(config_load(c, path, &error), <, 0);
        g_assert_nonnull(strstr(error, "nope.conf:0: cannot read"));
        free(error);
        config_free(c);
}

static void test_dump_masks_secrets(Fixture *f, gconstpointer data) {
        DockdConfig *c = NULL;
        g_autofree char *err = load_text(f, "[report]\nwebhook=https://hooks.example.org/T0/B1/secret-token\n", -1, &c);
        char *out = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&out, &len);

        g_assert_null(err);
        config_dump(c, m);
        fclose(m);
        g_assert_null(strstr(out, "secret-token"));
        g_assert_nonnull(strstr(out, "webhook=https://hooks.example.org/(masked)"));
        free(out);
        config_free(c);
}

static void test_generic(Fixture *f, gconstpointer data) {
        static const char text[] =
                "[generic.android-cam]\n"
                "usb_id=1D6B:0100\n"
                "serials=AND-0001 and-0002\n"
                "recordings=DCIM/**/*.MP4 Movies/*.mp4\n"
                "delete_after_confirm=yes\n"
                "min_age=10min\n"
                "[generic.any-of-model]\n"
                "usb_id=1d6b:0100\n"
                "recordings=VIDEO/*.mp4\n";
        DockdConfig *c = NULL;
        g_autofree char *err = load_text(f, text, -1, &c);
        const GenericCameraConfig *g;
        g_autofree char *dump = NULL;
        size_t size = 0;
        FILE *out;

        g_assert_null(err);
        g_assert_cmpuint(c->n_generics, ==, 2);
        g = config_find_generic(c, 0x1d6b0100, "AND-0001");
        g_assert_nonnull(g);
        g_assert_cmpstr(g->name, ==, "android-cam");
        g_assert_true(g->delete_after_confirm);
        g_assert_false(g->clock_set);
        g_assert_cmpuint(g->min_age, ==, 600 * USEC_PER_SEC);
        g_assert_true(config_find_generic(c, 0x1d6b0100, "and-0002") == g);
        /* Serials are compared exactly; a camera not in the list falls to the
         * section without a list, and nothing matches another USB ID. */
        g_assert_cmpstr(config_find_generic(c, 0x1d6b0100, "AND-000")->name, ==, "any-of-model");
        g_assert_cmpstr(config_find_generic(c, 0x1d6b0100, NULL)->name, ==, "any-of-model");
        g_assert_null(config_find_generic(c, 0x1d6b0101, "AND-0001"));
        g_assert_null(config_find_generic(c, 0x18d14ee1, NULL));

        g_assert_true(generic_config_wants_path(g, "DCIM/Camera/VID_0001.mp4"));
        g_assert_true(generic_config_wants_path(g, "DCIM/VID_0001.MP4"));
        g_assert_true(generic_config_wants_path(g, "DCIM/a/b/c/x.Mp4"));
        g_assert_true(generic_config_wants_path(g, "Movies/x.mp4"));
        g_assert_false(generic_config_wants_path(g, "Movies/sub/x.mp4"));
        g_assert_false(generic_config_wants_path(g, "DCIM/Camera/.pending-1-VID.mp4"));
        g_assert_false(generic_config_wants_path(g, "DCIM/Camera/IMG_0001.jpg"));
        g_assert_false(generic_config_wants_path(g, "Download/DCIM/x.mp4"));
        g_assert_false(generic_config_wants_path(g, "DCIM"));
        g_assert_false(generic_config_wants_path(g, "/DCIM/x.mp4"));
        g_assert_false(generic_config_wants_path(g, ""));

        out = open_memstream(&dump, &size);
        g_assert_nonnull(out);
        config_dump(c, out);
        g_assert_cmpint(fclose(out), ==, 0);
        g_assert_nonnull(strstr(dump, "[generic.android-cam]\nusb_id=1d6b:0100\nserials=AND-0001 and-0002\n"
                                      "recordings=DCIM/**/*.MP4 Movies/*.mp4\ndelete_after_confirm=yes\n"));
        g_assert_nonnull(strstr(dump, "[generic.any-of-model]\nusb_id=1d6b:0100\n#serials=\n"));
        config_free(c);
}

static void test_glob(void) {
        g_assert_true(glob_match_path("**", "a/b/c"));
        g_assert_true(glob_match_path("a/**", "a/b"));
        g_assert_false(glob_match_path("a/**", "b/a"));
        g_assert_true(glob_match_path("**/x.mp4", "x.mp4"));
        g_assert_true(glob_match_path("**/x.mp4", "q/r/x.mp4"));
        g_assert_true(glob_match_path("a/**/b/**/c", "a/b/c"));
        g_assert_true(glob_match_path("a/**/b/**/c", "a/1/b/2/3/c"));
        g_assert_false(glob_match_path("a/**/b/**/c", "a/1/2/3/c"));
        g_assert_true(glob_match_path("VID_[0-9]*.mp4", "VID_2026.MP4"));
        g_assert_false(glob_match_path("VID_[0-9]*.mp4", "VID_x.mp4"));
        g_assert_true(glob_match_path("?.mp4", "a.mp4"));
        g_assert_false(glob_match_path("*.mp4", "a/b.mp4"));
        g_assert_false(glob_match_path("*", ".hidden"));
        g_assert_false(glob_match_path("*.mp4", "a.mp4/"));
        g_assert_false(glob_match_path("*.mp4", "a.mp4\nb"));
        g_assert_true(glob_pattern_is_valid("DCIM/**/*.MP4"));
        g_assert_false(glob_pattern_is_valid("DCIM/**x/*.MP4"));
        g_assert_false(glob_pattern_is_valid("a b"));
        g_assert_false(glob_pattern_is_valid(""));
        g_assert_false(glob_pattern_is_valid("a/"));
        g_assert_false(glob_pattern_is_valid("./a"));
}

static void test_parse_util(void) {
        uint64_t v;
        usec_t u;
        char buf[64];

        g_assert_cmpint(parse_size("16M", &v), ==, 0);
        g_assert_cmpuint(v, ==, 16 * MiB);
        g_assert_cmpint(parse_size("2G", &v), ==, 0);
        g_assert_cmpuint(v, ==, 2 * GiB);
        g_assert_cmpint(parse_size("7", &v), ==, 0);
        g_assert_cmpuint(v, ==, 7);
        g_assert_cmpint(parse_size("1.5G", &v), ==, -EINVAL);
        g_assert_cmpint(parse_size("", &v), ==, -EINVAL);
        g_assert_cmpint(parse_size("G", &v), ==, -EINVAL);
        g_assert_cmpint(parse_size("17179869184T", &v), ==, -ERANGE);
        g_assert_cmpint(parse_duration("30s", &u), ==, 0);
        g_assert_cmpuint(u, ==, 30 * USEC_PER_SEC);
        g_assert_cmpint(parse_duration("90d", &u), ==, 0);
        g_assert_cmpuint(u, ==, 90ULL * 86400 * USEC_PER_SEC);
        g_assert_cmpint(parse_duration("4y", &u), ==, 0);
        g_assert_cmpuint(u, ==, 4ULL * 365 * 86400 * USEC_PER_SEC);
        g_assert_cmpint(parse_duration("1h30min", &u), ==, 0);
        g_assert_cmpuint(u, ==, 5400 * USEC_PER_SEC);
        g_assert_cmpint(parse_duration("5", &u), ==, 0);
        g_assert_cmpuint(u, ==, 5 * USEC_PER_SEC);
        g_assert_cmpint(parse_duration("5 5", &u), ==, -EINVAL);
        g_assert_cmpint(parse_duration("s", &u), ==, -EINVAL);
        g_assert_cmpint(parse_duration("1x", &u), ==, -EINVAL);
        g_assert_cmpint(parse_duration("99999999999y", &u), ==, -ERANGE);
        g_assert_cmpstr(format_size(16 * MiB, buf, sizeof buf), ==, "16M");
        g_assert_cmpstr(format_size(1000, buf, sizeof buf), ==, "1000");
        g_assert_cmpstr(format_duration(90ULL * 86400 * USEC_PER_SEC, buf, sizeof buf), ==, "90d");
        g_assert_cmpstr(format_duration(5400 * USEC_PER_SEC, buf, sizeof buf), ==, "1h 30min");
        g_assert_true(usb_port_path_is_valid("1-1.4"));
        g_assert_true(usb_port_path_is_valid("3-2"));
        g_assert_false(usb_port_path_is_valid("1-1."));
        g_assert_false(usb_port_path_is_valid("1-01"));
        g_assert_false(usb_port_path_is_valid("1"));
        g_assert_false(usb_port_path_is_valid("1.1-1"));
        g_assert_true(name_is_valid("BWC-0001", 32));
        g_assert_false(name_is_valid("..", 32));
        g_assert_false(name_is_valid("a/b", 32));
        g_assert_false(name_is_valid(".hidden", 32));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
#define T(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        T("/config/defaults", test_defaults);
        T("/config/valid", test_valid);
        T("/config/bad-values", test_bad);
        T("/config/malformed-bytes", test_malformed_bytes);
        T("/config/huge", test_huge);
        T("/config/dropins", test_dropins);
        T("/config/missing", test_missing);
        T("/config/dump-masks-secrets", test_dump_masks_secrets);
        T("/config/generic", test_generic);
        g_test_add_func("/config/parse-util", test_parse_util);
        g_test_add_func("/config/glob", test_glob);
        return g_test_run();
}
