/* SPDX-License-Identifier: Apache-2.0 */
/* The chain head of what a dock sealed for one camera (store/seal-chain.c):
 * zeros before the first seal, the last one saved after, per camera, and a
 * damaged file refused rather than taken for a head (a fork of the chain). */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "fileio.h"
#include "seal-chain.h"

static Spool *open_spool(char **ret_dir) {
        char *dir = g_dir_make_tmp("dockd-seal-chain-XXXXXX", NULL);
        Spool *s = NULL;

        g_assert_nonnull(dir);
        g_assert_cmpint(spool_open(dir, &s), >=, 0);
        *ret_dir = dir;
        return s;
}

static void remove_tree(const char *dir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        g_assert_cmpint(system(cmd), ==, 0);
}

static void test_first_then_saved(void) {
        g_autofree char *dir = NULL;
        Spool *s = open_spool(&dir);
        uint8_t head[32], a[32], b[32], zeros[32] = {};

        memset(a, 0xab, sizeof a);
        memset(b, 0x01, sizeof b);
        g_assert_cmpint(seal_chain_head_load(s, "AND-G0001", head), ==, 0);
        g_assert_cmpmem(head, 32, zeros, 32);
        g_assert_cmpint(seal_chain_head_save(s, "AND-G0001", a), ==, 0);
        g_assert_cmpint(seal_chain_head_save(s, "AND-G0002", b), ==, 0);
        g_assert_cmpint(seal_chain_head_load(s, "AND-G0001", head), ==, 0);
        g_assert_cmpmem(head, 32, a, 32);
        g_assert_cmpint(seal_chain_head_load(s, "AND-G0002", head), ==, 0);
        g_assert_cmpmem(head, 32, b, 32);
        /* Another spool object on the same directory (a restart) reads the same. */
        spool_free(s);
        g_assert_cmpint(spool_open(dir, &s), >=, 0);
        g_assert_cmpint(seal_chain_head_load(s, "AND-G0001", head), ==, 0);
        g_assert_cmpmem(head, 32, a, 32);
        spool_free(s);
        remove_tree(dir);
}

static void test_damaged_refused(void) {
        static const char *const bad[] = {
                "", "ab\n", "zz" "00000000000000000000000000000000000000000000000000000000000000\n",
                "abababababababababababababababababababababababababababababababab",   /* no newline */
                "abababababababababababababababababababababababababababababababab\nX",
        };
        g_autofree char *dir = NULL;
        Spool *s = open_spool(&dir);
        g_autofree char *cam = g_build_filename(dir, "AND-G0001", NULL);
        g_autofree char *path = g_build_filename(cam, ".sealed-head", NULL);
        uint8_t head[32];

        g_assert_cmpint(g_mkdir_with_parents(cam, 0750), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_assert_cmpint(write_file_atomic(path, bad[i], strlen(bad[i]), 0640), ==, 0);
                g_assert_cmpint(seal_chain_head_load(s, "AND-G0001", head), ==, -EBADMSG);
        }
        spool_free(s);
        remove_tree(dir);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/seal-chain/first-then-saved", test_first_then_saved);
        g_test_add_func("/seal-chain/damaged-refused", test_damaged_refused);
        return g_test_run();
}
