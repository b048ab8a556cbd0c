/* SPDX-License-Identifier: Apache-2.0 */
/* usbfs_memory_mb (device/usbfs-memory.h): the kernel's 16 MiB default, the
 * defaults of [usb] and the bays of a dock; what fits, and what dockd then
 * does with a cap it reads. */
#include <glib.h>
#include <glib/gstdio.h>

#include "log.h"
#include "usbfs-memory.h"


static void test_fit(void) {
        /* 8 bays × 4 × 512 KiB: 16 MiB of buffers alone, beyond the default cap. */
        g_assert_cmpuint(usbfs_memory_needed_mb(8, 512 * KiB, 4), >, 16);
        g_assert_cmpuint(usbfs_transfers_that_fit(16, 8, 512 * KiB, 4), ==, 3);
        g_assert_cmpuint(usbfs_memory_needed_mb(8, 512 * KiB, 3), <=, 16);
        /* 15 bays: one each under the default cap, all four under 64 MiB. */
        g_assert_cmpuint(usbfs_transfers_that_fit(16, 15, 512 * KiB, 4), ==, 1);
        g_assert_cmpuint(usbfs_transfers_that_fit(64, 15, 512 * KiB, 4), ==, 4);
        g_assert_cmpuint(usbfs_memory_needed_mb(15, 512 * KiB, 4), <=, 64);
        /* No cap, or one that is ample: as configured. */
        g_assert_cmpuint(usbfs_transfers_that_fit(0, 15, 512 * KiB, 8), ==, 8);
        g_assert_cmpuint(usbfs_transfers_that_fit(1024, 8, 512 * KiB, 8), ==, 8);
        /* Never below one: a camera needs a transfer to be offloaded at all. */
        g_assert_cmpuint(usbfs_transfers_that_fit(1, 15, 1024 * KiB, 4), ==, 1);
        g_assert_cmpuint(usbfs_transfers_that_fit(16, 8, 512 * KiB, 1), ==, 1);
        /* What fits, fits: the result never needs more than the cap, whenever one transfer does. */
        for (unsigned cap = 1; cap <= 128; cap++)
                for (unsigned bays = 1; bays <= 15; bays++) {
                        unsigned n = usbfs_transfers_that_fit(cap, bays, 256 * KiB, 16);

                        g_assert_cmpuint(n, >=, 1);
                        g_assert_cmpuint(n, <=, 16);
                        if (n > 1)
                                g_assert_cmpuint((unsigned long long) bays * (n * (256 * KiB + USBFS_TRANSFER_OVERHEAD)
                                                                      + USBFS_CAMERA_OVERHEAD), <=, (unsigned long long) cap << 20);
                }
}

static void fit_with(const char *content, unsigned bays, unsigned want, unsigned expect) {
        g_autofree char *dir = g_dir_make_tmp("dockd-usbfs-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "usbfs_memory_mb", NULL);
        unsigned n = want;

        if (content)
                g_assert_true(g_file_set_contents(path, content, -1, NULL));
        usbfs_memory_fit(path, bays, 512 * KiB, &n);
        g_assert_cmpuint(n, ==, expect);
        (void) g_unlink(path);
        (void) g_rmdir(dir);
}

static void test_read(void) {
        log_setup(LOG_TARGET_CONSOLE, LOG_ERR);   /* the warnings are expected */
        fit_with("16\n", 8, 4, 3);
        fit_with("0\n", 8, 4, 4);            /* no cap */
        fit_with("64\n", 15, 4, 4);
        fit_with(NULL, 8, 4, 4);             /* no usbcore: nothing known, nothing changed */
        fit_with("sixteen\n", 8, 4, 4);      /* unreadable: said, nothing changed */
        fit_with("-5\n", 8, 4, 4);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/usbfs-memory/fit", test_fit);
        g_test_add_func("/usbfs-memory/read", test_read);
        return g_test_run();
}
