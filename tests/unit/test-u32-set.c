/* SPDX-License-Identifier: Apache-2.0 */
/* The set a camera's folder walk keeps of the handles it has seen
 * (basic/u32-set.c): each number once, 0 refused, through its growth. */
#include <errno.h>
#include <glib.h>

#include "u32-set.h"

static void test_add_once(void) {
        U32Set s = {};

        g_assert_cmpint(u32_set_add(&s, 0), ==, -EINVAL);
        g_assert_cmpint(u32_set_add(&s, 7), ==, 1);
        g_assert_cmpint(u32_set_add(&s, 7), ==, 0);
        g_assert_cmpint(u32_set_add(&s, UINT32_MAX), ==, 1);
        g_assert_cmpint(u32_set_add(&s, UINT32_MAX), ==, 0);
        g_assert_cmpuint(s.n, ==, 2);
        u32_set_done(&s);
        g_assert_null(s.slots);
        g_assert_cmpuint(s.n, ==, 0);
}

/* A million handles, consecutive and strided (how cameras number them), then
 * every one again: all were kept through every growth, none twice. */
static void test_many(void) {
        U32Set s = {};
        const uint32_t n = 1000000;

        for (uint32_t i = 1; i <= n; i++)
                g_assert_cmpint(u32_set_add(&s, i % 2 ? i : i << 12), ==, 1);
        g_assert_cmpuint(s.n, ==, n);
        g_assert_cmpuint(s.capacity, >=, 2 * (size_t) n);
        for (uint32_t i = 1; i <= n; i++)
                g_assert_cmpint(u32_set_add(&s, i % 2 ? i : i << 12), ==, 0);
        g_assert_cmpuint(s.n, ==, n);
        u32_set_done(&s);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/u32-set/add-once", test_add_once);
        g_test_add_func("/u32-set/many", test_many);
        return g_test_run();
}
