/* SPDX-License-Identifier: Apache-2.0 */
/* A generic camera's listing (formats/generic-listing.c): paths from parent
 * folders, recordings= patterns, completeness across two listings, and the
 * shapes a hostile camera can give its folders. */
#include <glib.h>

#include "generic-listing.h"
#include "ptp.h"

#define FOLDER PTP_OFC_ASSOCIATION
#define FILE_ 0x300b   /* MPEG-4 */

static GenericCameraConfig config(void) {
        return (GenericCameraConfig) { .name = (char *) "cam", .usb_id = 0x1d6b0100,
                                       .recordings = (char *) "DCIM/**/*.MP4" };
}

static GenericListing *build(const PtpObjectProps *o, size_t n, const GenericListing *prev) {
        GenericCameraConfig g = config();
        GenericListing *l = NULL;

        g_assert_cmpint(generic_listing_build(&g, o, n, prev, 1800000000, &l), ==, 0);
        return l;
}

static void test_paths_and_patterns(void) {
        PtpObjectProps o[] = {
                { .handle = 1, .parent = 0, .format = FOLDER, .filename = (char *) "DCIM" },
                { .handle = 2, .parent = 1, .format = FOLDER, .filename = (char *) "100CAM" },
                { .handle = 3, .parent = 2, .format = FILE_, .size = 100, .filename = (char *) "VID_0001.mp4" },
                { .handle = 4, .parent = 2, .format = FILE_, .size = 5, .filename = (char *) "IMG_0001.jpg" },
                { .handle = 5, .parent = UINT32_MAX, .format = FILE_, .size = 7, .filename = (char *) "x.mp4" },
                { .handle = 6, .parent = 1, .format = FILE_, .size = UINT64_MAX, .filename = (char *) "big.MP4" },
        };
        _cleanup_(generic_listing_freep) GenericListing *a = build(o, G_N_ELEMENTS(o), NULL);
        _cleanup_(generic_listing_freep) GenericListing *b = NULL;

        g_assert_cmpuint(a->n_files, ==, 2);
        g_assert_cmpstr(a->files[0].path, ==, "DCIM/100CAM/VID_0001.mp4");
        g_assert_cmpstr(a->files[1].path, ==, "DCIM/big.MP4");
        g_assert_cmpuint(a->n_not_wanted, ==, 2);
        g_assert_cmpuint(a->n_skipped, ==, 0);
        /* Nothing is complete on the first listing. */
        g_assert_false(a->files[0].complete);

        b = build(o, G_N_ELEMENTS(o), a);
        g_assert_true(b->files[0].complete);
        /* A size the camera did not say is never stable. */
        g_assert_false(b->files[1].complete);
}

static void test_growing_and_renamed(void) {
        PtpObjectProps o[] = {
                { .handle = 1, .parent = 0, .format = FOLDER, .filename = (char *) "DCIM" },
                { .handle = 3, .parent = 1, .format = FILE_, .size = 100, .filename = (char *) "a.mp4" },
                { .handle = 4, .parent = 1, .format = FILE_, .size = 100, .filename = (char *) "b.mp4" },
        };
        _cleanup_(generic_listing_freep) GenericListing *a = build(o, G_N_ELEMENTS(o), NULL);
        _cleanup_(generic_listing_freep) GenericListing *b = NULL, *c = NULL;

        o[1].size = 200;                        /* still being written */
        o[2].filename = (char *) "c.mp4";       /* the same handle, another name */
        b = build(o, G_N_ELEMENTS(o), a);
        g_assert_cmpuint(b->n_files, ==, 2);
        g_assert_false(b->files[0].complete);
        g_assert_false(b->files[1].complete);
        c = build(o, G_N_ELEMENTS(o), b);
        g_assert_true(c->files[0].complete);
        g_assert_true(c->files[1].complete);
}

static void test_hostile_shapes(void) {
        PtpObjectProps o[] = {
                /* a loop of folders */
                { .handle = 1, .parent = 2, .format = FOLDER, .filename = (char *) "DCIM" },
                { .handle = 2, .parent = 1, .format = FOLDER, .filename = (char *) "DCIM" },
                { .handle = 3, .parent = 1, .format = FILE_, .size = 1, .filename = (char *) "loop.mp4" },
                /* a parent that is not a folder, or not there, or itself */
                { .handle = 4, .parent = 0, .format = FILE_, .size = 1, .filename = (char *) "DCIM" },
                { .handle = 5, .parent = 4, .format = FILE_, .size = 1, .filename = (char *) "x.mp4" },
                { .handle = 6, .parent = 99, .format = FILE_, .size = 1, .filename = (char *) "y.mp4" },
                { .handle = 7, .parent = 7, .format = FILE_, .size = 1, .filename = (char *) "z.mp4" },
                /* names that would move the path */
                { .handle = 8, .parent = 0, .format = FOLDER, .filename = (char *) ".." },
                { .handle = 9, .parent = 8, .format = FILE_, .size = 1, .filename = (char *) "a.mp4" },
                { .handle = 10, .parent = 0, .format = FOLDER, .filename = (char *) "DCIM/x" },
                { .handle = 11, .parent = 10, .format = FILE_, .size = 1, .filename = (char *) "a.mp4" },
                { .handle = 12, .parent = 0, .format = FOLDER, .filename = (char *) "" },
                { .handle = 13, .parent = 12, .format = FILE_, .size = 1, .filename = (char *) "a.mp4" },
        };
        _cleanup_(generic_listing_freep) GenericListing *l = build(o, G_N_ELEMENTS(o), NULL);
        GenericCameraConfig g = config();
        GenericListing *bad = NULL;
        PtpObjectProps unsorted[] = { o[4], o[3] };

        g_assert_cmpuint(l->n_files, ==, 0);
        g_assert_cmpuint(l->n_skipped, ==, 7);   /* 3, 5, 6, 7, 9, 11, 13 */
        g_assert_cmpuint(l->n_not_wanted, ==, 1);   /* 4: a file named DCIM at the root */
        g_assert_cmpint(generic_listing_build(&g, unsorted, 2, NULL, 0, &bad), ==, -EINVAL);
        g_assert_null(bad);
}

static void test_deep_and_long(void) {
        enum { DEEP = GENERIC_PATH_DEPTH_MAX + 2 };
        PtpObjectProps o[DEEP + 2];
        char long_name[65];
        _cleanup_(generic_listing_freep) GenericListing *l = NULL;

        /* DCIM/f/f/f/…: a file too deep is skipped, one within the limit is taken. */
        o[0] = (PtpObjectProps) { .handle = 1, .parent = 0, .format = FOLDER, .filename = (char *) "DCIM" };
        for (unsigned i = 1; i < DEEP; i++)
                o[i] = (PtpObjectProps) { .handle = i + 1, .parent = i, .format = FOLDER, .filename = (char *) "f" };
        o[DEEP] = (PtpObjectProps) { .handle = DEEP + 1, .parent = DEEP, .format = FILE_, .size = 1, .filename = (char *) "deep.mp4" };
        o[DEEP + 1] = (PtpObjectProps) { .handle = DEEP + 2, .parent = 3, .format = FILE_, .size = 1, .filename = long_name };
        memset(long_name, 'a', 60);
        strcpy(long_name + 60, ".mp4");
        l = build(o, G_N_ELEMENTS(o), NULL);
        g_assert_cmpuint(l->n_skipped, ==, 1);
        g_assert_cmpuint(l->n_files, ==, 1);
        g_assert_true(g_str_has_prefix(l->files[0].path, "DCIM/f/f/aaaa"));
}

/* min_age: a file the camera dates old enough is complete at the first
 * listing; a date without zone needs 14 h more; a date in the future, no date,
 * min_age 0 or a size seen to change never make it complete. */
static void test_min_age(void) {
        const time_t now = 1800000000, min = 600;
        PtpObjectProps o[] = {
                { .handle = 1, .parent = 0, .format = FOLDER, .filename = (char *) "DCIM" },
                { .handle = 2, .parent = 1, .format = FILE_, .size = 1, .filename = (char *) "old.mp4", .date = now - min },
                { .handle = 3, .parent = 1, .format = FILE_, .size = 1, .filename = (char *) "young.mp4", .date = now - min + 1 },
                { .handle = 4, .parent = 1, .format = FILE_, .size = 1, .filename = (char *) "future.mp4", .date = now + 3600 },
                { .handle = 5, .parent = 1, .format = FILE_, .size = 1, .filename = (char *) "undated.mp4" },
                { .handle = 6, .parent = 1, .format = FILE_, .size = 1, .filename = (char *) "local-old.mp4",
                  .date = now - min - GENERIC_UNZONED_MARGIN, .date_unzoned = true },
                { .handle = 7, .parent = 1, .format = FILE_, .size = 1, .filename = (char *) "local-young.mp4",
                  .date = now - min - GENERIC_UNZONED_MARGIN + 1, .date_unzoned = true },
                { .handle = 8, .parent = 1, .format = FILE_, .size = UINT64_MAX, .filename = (char *) "big.mp4", .date = 1 },
        };
        static const bool want[] = { true, false, false, false, true, false, false };
        GenericCameraConfig g = config();
        _cleanup_(generic_listing_freep) GenericListing *a = NULL, *b = NULL, *none = NULL;

        g.min_age = min * USEC_PER_SEC;
        g_assert_cmpint(generic_listing_build(&g, o, G_N_ELEMENTS(o), NULL, now, &a), ==, 0);
        g_assert_cmpuint(a->n_files, ==, G_N_ELEMENTS(want));
        for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
                if (a->files[i].complete != want[i])
                        g_error("%s: complete=%d", a->files[i].path, a->files[i].complete);
        /* Only a UTC date is sealed (GenericFile.date); one without zone is not. */
        g_assert_cmpint(a->files[0].date, ==, now - min);
        g_assert_cmpint(a->files[4].date, ==, 0);
        g_assert_cmpint(a->files[4].unzoned_date, ==, now - min - GENERIC_UNZONED_MARGIN);

        /* Old by its date, but its size changed since the first listing: still being written. */
        o[1].size = 2;
        g_assert_cmpint(generic_listing_build(&g, o, G_N_ELEMENTS(o), a, now, &b), ==, 0);
        g_assert_false(b->files[0].complete);
        g_assert_true(b->files[4].complete);

        g.min_age = 0;
        g_assert_cmpint(generic_listing_build(&g, o, G_N_ELEMENTS(o), NULL, now, &none), ==, 0);
        for (size_t i = 0; i < none->n_files; i++)
                g_assert_false(none->files[i].complete);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/generic-listing/paths-and-patterns", test_paths_and_patterns);
        g_test_add_func("/generic-listing/growing-and-renamed", test_growing_and_renamed);
        g_test_add_func("/generic-listing/hostile-shapes", test_hostile_shapes);
        g_test_add_func("/generic-listing/deep-and-long", test_deep_and_long);
        g_test_add_func("/generic-listing/min-age", test_min_age);
        return g_test_run();
}
