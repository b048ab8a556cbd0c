/* SPDX-License-Identifier: Apache-2.0 */
/* The hash chain (docs/camera-protocol.md §13): prev of segment 0 is 64 zeros;
 * prev of segment n > 0 is the SHA-256 of the exact bytes of segment n−1's
 * .man; indexes start at 0 and go up by one without gaps; a dock that knows a
 * recording's last verified segment checks the chain across dockings. A
 * dropped, reordered, replaced or inserted segment breaks the chain. */
#include <glib.h>

#include "chain.h"
#include "manifest.h"
#include "sample-manifest.h"

/* The head a dock keeps after verifying segment index with manifest text. */
static ChainHead head_after(uint32_t index, const char *manifest_text) {
        ChainHead h = { .index = index };
        g_autofree char *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, manifest_text, -1);

        g_assert_cmpint(unhex_sha256(hex, h.manifest_sha256), ==, 0);
        return h;
}

static int check(const ChainHead *head, uint32_t index, const char *prev_hex, const char **ret_reason) {
        uint8_t prev[32];

        g_assert_cmpint(unhex_sha256(prev_hex, prev), ==, 0);
        *ret_reason = NULL;
        return chain_check(head, index, prev, ret_reason);
}

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static void test_first_segment(void) {
        const char *why;

        /* Segment 0 of a new recording links to nothing: prev is all zeros. */
        g_assert_cmpint(check(NULL, 0, ZEROS, &why), ==, 0);
        g_assert_cmpint(check(NULL, 0, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", &why),
                        ==, -EBADMSG);
        g_assert_nonnull(why);
}

static void test_next_links_to_previous_manifest(void) {
        ChainHead h = head_after(0, SAMPLE_MANIFEST);
        g_autofree char *prev = g_compute_checksum_for_string(G_CHECKSUM_SHA256, SAMPLE_MANIFEST, -1);
        const char *why;

        g_assert_cmpint(check(&h, 1, prev, &why), ==, 0);
        /* The SHA-256 of another text (one byte changed) does not link. */
        g_autofree char *other = g_compute_checksum_for_string(G_CHECKSUM_SHA256, SAMPLE_MANIFEST " ", -1);
        g_assert_cmpint(check(&h, 1, other, &why), ==, -EBADMSG);
        g_assert_nonnull(why);
}

static void test_dropped_segment(void) {
        ChainHead h = head_after(3, SAMPLE_MANIFEST);
        g_autofree char *prev = g_compute_checksum_for_string(G_CHECKSUM_SHA256, SAMPLE_MANIFEST, -1);
        const char *why;

        /* Segment 4 never came: 5 after 3 is a gap, whatever its prev says. */
        g_assert_cmpint(check(&h, 5, prev, &why), ==, -EBADMSG);
        g_assert_nonnull(why);
}

static void test_reordered_or_replayed(void) {
        ChainHead h = head_after(3, SAMPLE_MANIFEST);
        g_autofree char *prev = g_compute_checksum_for_string(G_CHECKSUM_SHA256, SAMPLE_MANIFEST, -1);
        const char *why;

        g_assert_cmpint(check(&h, 3, prev, &why), ==, -EBADMSG);
        g_assert_cmpint(check(&h, 2, prev, &why), ==, -EBADMSG);
        /* A segment 0 of a recording the dock already follows: replaced. */
        g_assert_cmpint(check(&h, 0, ZEROS, &why), ==, -EBADMSG);
        g_assert_nonnull(why);
}

static void test_across_dockings(void) {
        const char *why;
        g_autofree char *prev = g_compute_checksum_for_string(G_CHECKSUM_SHA256, SAMPLE_MANIFEST, -1);
        ChainHead h = head_after(6, SAMPLE_MANIFEST);

        /* This dock never saw the recording's start (another dock did): the
         * chain cannot be checked here, which is not a break. */
        g_assert_cmpint(check(NULL, 7, prev, &why), ==, -ENOENT);
        /* It saw segment 6 at an earlier docking: 7 is checked against it. */
        g_assert_cmpint(check(&h, 7, prev, &why), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/chain/first-segment", test_first_segment);
        g_test_add_func("/chain/next-links-to-previous-manifest", test_next_links_to_previous_manifest);
        g_test_add_func("/chain/dropped-segment", test_dropped_segment);
        g_test_add_func("/chain/reordered-or-replayed", test_reordered_or_replayed);
        g_test_add_func("/chain/across-dockings", test_across_dockings);
        return g_test_run();
}
