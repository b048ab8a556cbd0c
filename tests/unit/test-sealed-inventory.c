/* SPDX-License-Identifier: Apache-2.0 */
/* The inventory of a camera that does not sign (dock/offload-seal.c): which
 * listed files become sealed segments, their recording ids, and the ids other
 * bytes under an id already sealed are kept under. An id is the camera's word
 * (path, size, date): it stays the same for other bytes written in the same
 * second or on a camera without dates, so a later docking reads such a file
 * again (offload_match_sealed(), tests/generic) rather than trust it. */
#include <glib.h>

#include "camera.h"
#include "manifest.h"
#include "offload-private.h"

static const char *only_id(GenericFile *f) {
        static char id[18];
        GenericListing l = { .files = f, .n_files = 1 };
        CameraInventory *inv = NULL;
        SealedSource *src = NULL;
        unsigned growing = 0;

        g_assert_cmpint(offload_sealed_inventory(&l, &inv, &src, &growing), ==, 0);
        g_assert_cmpuint(inv->n_segments, ==, 1);
        g_assert_cmpuint(growing, ==, 0);
        g_strlcpy(id, inv->segments[0].recording_id, sizeof id);
        offload_sources_free(src, inv->n_segments);
        camera_inventory_free(inv);
        return id;
}

/* The ids other bytes under a sealed file's id are kept under: the same
 * sequence for the same bytes at every docking (so that a later one finds
 * them), all distinct, the first the plain id, the second the variant the
 * spool names by the bytes' SHA-256. */
static void test_variants(void) {
        uint8_t sha[32], other[32];
        char v[OFFLOAD_SEALED_VARIANTS][SEGMENT_VARIANT_MAX], w[SEGMENT_VARIANT_MAX], plain[SEGMENT_VARIANT_MAX];

        for (unsigned i = 0; i < 32; i++) {
                sha[i] = (uint8_t) (i * 7 + 1);
                other[i] = (uint8_t) (i * 7 + 2);
        }
        for (unsigned k = 0; k < OFFLOAD_SEALED_VARIANTS; k++)
                offload_sealed_variant(sha, k, v[k]);
        g_assert_cmpstr(v[0], ==, "");
        segment_variant(sha, plain);
        g_assert_cmpstr(v[1], ==, plain);
        for (unsigned k = 1; k < OFFLOAD_SEALED_VARIANTS; k++) {
                g_assert_cmpuint(strlen(v[k]), ==, SEGMENT_VARIANT_MAX - 1);
                g_assert_true(v[k][0] == '~');
                for (unsigned j = 0; j < k; j++)
                        g_assert_cmpstr(v[k], !=, v[j]);
                offload_sealed_variant(sha, k, w);
                g_assert_cmpstr(w, ==, v[k]);
                offload_sealed_variant(other, k, w);
                g_assert_cmpstr(w, !=, v[k]);
        }
}

static void test_ids(void) {
        GenericFile f = { .handle = 7, .path = (char *) "DCIM/100ANDRO/VID_0001.mp4", .size = 4096, .complete = true };
        char first[18], again[18];

        /* umtprd's dates carry no zone: not sealed as a time, but in the id. */
        f.unzoned_date = 1796200000;
        g_strlcpy(first, only_id(&f), sizeof first);
        g_strlcpy(again, only_id(&f), sizeof again);
        g_assert_cmpstr(first, ==, again);            /* the same file: the same id at every docking */
        f.unzoned_date = 1796203600;                  /* rewritten later with the same size */
        g_assert_cmpstr(only_id(&f), !=, first);
        f.unzoned_date = 0;                           /* no date at all: path and size only */
        g_assert_cmpstr(only_id(&f), !=, first);
        f.date = 1796200000;                          /* a UTC date wins, and is the same number */
        f.unzoned_date = 1796209999;
        g_assert_cmpstr(only_id(&f), ==, first);
}

static void test_growing(void) {
        GenericFile f[2] = {
                { .handle = 1, .path = (char *) "DCIM/a.mp4", .size = 10, .complete = true },
                { .handle = 2, .path = (char *) "DCIM/b.mp4", .size = 20, .complete = false },
        };
        GenericListing l = { .files = f, .n_files = 2 };
        CameraInventory *inv = NULL;
        SealedSource *src = NULL;
        unsigned growing = 0;

        g_assert_cmpint(offload_sealed_inventory(&l, &inv, &src, &growing), ==, 0);
        g_assert_cmpuint(inv->n_segments, ==, 1);
        g_assert_cmpuint(growing, ==, 1);
        g_assert_cmpstr(src[0].path, ==, "DCIM/a.mp4");
        offload_sources_free(src, inv->n_segments);
        camera_inventory_free(inv);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/sealed-inventory/variants", test_variants);
        g_test_add_func("/sealed-inventory/ids", test_ids);
        g_test_add_func("/sealed-inventory/growing", test_growing);
        return g_test_run();
}
