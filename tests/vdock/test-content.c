/* test-content.c: the generator is deterministic, random-access and fast. */
#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "content.h"

static void test_random_access(void)
{
        uint64_t seed = content_seed("BWC-0001", "rec", 3);
        g_autofree uint8_t *whole = g_malloc(100000), *part = g_malloc(100000);

        content_fill(seed, 0, whole, 100000);
        for (unsigned off = 0; off < 64; off++) {
                for (unsigned len = 0; len < 40; len += 7) {
                        content_fill(seed, off * 997 % 90000, part, len);
                        g_assert_cmpmem(part, len, whole + off * 997 % 90000, len);
                }
        }
        g_assert_cmpuint(content_seed("BWC-0001", "rec", 3), !=, content_seed("BWC-0001", "rec", 4));
        g_assert_cmpuint(content_seed("BWC-0001", "re", 3), !=, content_seed("BWC-0001r", "e", 3));
}

static void test_hash_matches_bytes(void)
{
        uint64_t seed = content_seed("BWC-0002", "r", 0);
        const uint64_t size = (3 << 20) + 5;
        g_autofree uint8_t *buf = g_malloc(size);
        uint8_t a[32], b[32];
        unsigned int n = 32;

        content_fill(seed, 0, buf, size);
        EVP_Digest(buf, size, a, &n, EVP_sha256(), NULL);
        content_sha256(seed, size, b);
        g_assert_cmpmem(a, 32, b, 32);
}

/* How fast the generator is, against SHA-256 over the same bytes (what dockd does to
 * every byte it pulls) in the same run: printed, never asserted, since a timed
 * assertion measures the machine's load (`meson test --verbose` shows it). */
static void test_speed(void)
{
        enum { CHUNK = 1 << 20, TOTAL = 1 << 28 };
        g_autofree uint8_t *buf = g_malloc(CHUNK);
        unsigned char md[32];
        unsigned int n = 32;
        gint64 t0, t1, t2;

        t0 = g_get_monotonic_time();
        for (uint64_t off = 0; off < TOTAL; off += CHUNK)
                content_fill(42, off, buf, CHUNK);
        t1 = g_get_monotonic_time();
        for (uint64_t off = 0; off < TOTAL; off += CHUNK)
                EVP_Digest(buf, CHUNK, md, &n, EVP_sha256(), NULL);
        t2 = g_get_monotonic_time();
        g_test_message("generator: %.0f MB/s, %.1fx as fast as SHA-256 over the same bytes",
                       TOTAL / ((t1 - t0) / 1e6) / 1e6, (double) (t2 - t1) / (double) MAX(t1 - t0, 1));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/content/random-access", test_random_access);
        g_test_add_func("/content/hash", test_hash_matches_bytes);
        g_test_add_func("/content/speed", test_speed);
        return g_test_run();
}
