/* SPDX-License-Identifier: Apache-2.0 */
/* Sealing at the dock (protocol §12.6, formats/seal.c): the sealed manifest,
 * its hostile inputs, and a detached CMS signature that stock `openssl cms
 * -verify` accepts against the dock's certificate and refuses otherwise. */
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/pem.h>

#include "manifest.h"
#include "openssl-util.h"
#include "seal.h"

static SealInput sample(void) {
        SealInput in = {
                .device_serial = "AND-G0001",
                .model = "Android Cam",
                .firmware = "1.3.10",
                .recording_id = "G0123456789abcdef",
                .size = 1048583,
                .capture_time = 1795000000,
                .dock_name = "precinct-7.dock-2",
                .sealed_time = 1795000100,
                .source_path = "DCIM/100CAM/VID_0001.MP4",
        };
        memset(in.sha256, 0xab, sizeof in.sha256);
        return in;
}

static void test_manifest(void) {
        SealInput in = sample();
        _cleanup_free_ char *text = NULL, *why = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        size_t size;

        g_assert_cmpint(seal_manifest_format(&in, &text, &size), ==, 0);
        g_assert_cmpuint(size, ==, strlen(text));
        g_assert_true(g_str_has_prefix(text, "format=1\ndevice_serial=AND-G0001\nmodel=Android Cam\n"));
        g_assert_nonnull(strstr(text, "\nprev=0000000000000000000000000000000000000000000000000000000000000000\n"));
        g_assert_nonnull(strstr(text, "\nstart_time=2026-11-18T11:06:40Z\nend_time=2026-11-18T11:06:40Z\n"));
        g_assert_true(g_str_has_suffix(text, "officer_id=unknown\ncategories=\nsealed_by=precinct-7.dock-2\n"
                                             "sealed_time=2026-11-18T11:08:20Z\nsource_path=DCIM/100CAM/VID_0001.MP4\n"));
        g_assert_cmpint(manifest_parse_sealed((const uint8_t *) text, size, &m, &why), ==, 0);
        g_assert_cmpstr(m->sealed_by, ==, "precinct-7.dock-2");
        g_assert_cmpint(m->sealed_time, ==, 1795000100);
        g_assert_cmpuint(m->size, ==, 1048583);
        m = manifest_free(m);
        /* A camera's manifest never says a dock sealed it. */
        g_assert_cmpint(manifest_parse((const uint8_t *) text, size, &m, &why), ==, -EBADMSG);
        g_assert_cmpstr(why, ==, "line 15: unknown key sealed_by");
}

static void test_hostile_inputs(void) {
        SealInput in = sample();
        _cleanup_free_ char *text = NULL, *enc = NULL;
        size_t size;

        /* Strings a camera sent: control characters, escapes, non-ASCII, too long. */
        in.model = "Cam\x1b]0;pwned\a";
        in.firmware = "";
        in.source_path = "DCIM/a b\n%/\xc2\x9b" "2J/../x.mp4";
        g_assert_cmpint(seal_manifest_format(&in, &text, &size), ==, 0);
        g_assert_nonnull(strstr(text, "\nmodel=unknown\nfirmware=unknown\n"));
        g_assert_nonnull(strstr(text, "\nsource_path=DCIM/a%20b%0A%25/%C2%9B2J/../x.mp4\n"));
        g_assert_null(strchr(text, '\x1b'));
        enc = seal_source_path_encode("\xff");
        g_assert_cmpstr(enc, ==, "%FF");
        g_assert_true(source_path_is_valid("a/%FF"));
        g_assert_false(source_path_is_valid("a/%F"));
        g_assert_false(source_path_is_valid("a/%ff"));
        g_assert_false(source_path_is_valid("a b"));
        g_assert_false(source_path_is_valid("/abs"));

        /* What cannot be sealed is refused, not cleaned up. */
        in = sample();
        in.device_serial = "and-g0001";
        g_assert_cmpint(seal_manifest_format(&in, &text, &size), ==, -EINVAL);
        in = sample();
        in.recording_id = "../x";
        g_assert_cmpint(seal_manifest_format(&in, &text, &size), ==, -EINVAL);
        in = sample();
        in.size = (uint64_t) INT64_MAX + 1;
        g_assert_cmpint(seal_manifest_format(&in, &text, &size), ==, -EINVAL);
}

static void test_recording_id(void) {
        char a[18], b[18], c[18];

        g_assert_cmpint(seal_recording_id("DCIM/x.mp4", 10, 1000, a), ==, 0);
        g_assert_cmpint(seal_recording_id("DCIM/x.mp4", 10, 1000, b), ==, 0);
        g_assert_cmpstr(a, ==, b);
        g_assert_true(recording_id_is_valid(a));
        g_assert_cmpint(a[0], ==, 'G');
        g_assert_cmpint(seal_recording_id("DCIM/x.mp4", 11, 1000, c), ==, 0);
        g_assert_cmpstr(a, !=, c);
        g_assert_cmpint(seal_recording_id("DCIM/x.mp4", 10, 1001, c), ==, 0);
        g_assert_cmpstr(a, !=, c);
        /* The separator keeps "a" + "10" apart from "a1" + "0". */
        g_assert_cmpint(seal_recording_id("a", 10, 5, b), ==, 0);
        g_assert_cmpint(seal_recording_id("a1", 0, 5, c), ==, 0);
        g_assert_cmpstr(b, !=, c);
}

static void write_bytes(const char *path, const void *data, size_t size) {
        g_assert_true(g_file_set_contents(path, data, (gssize) size, NULL));
}

static int openssl_verify(const char *p7s, const char *man, const char *ca) {
        const char *argv[] = { "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", p7s,
                               "-content", man, "-CAfile", ca, "-purpose", "any", "-out", "/dev/null", NULL };
        g_autofree char *out = NULL, *err = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                                   &status, NULL));
        return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

static void write_cert(const char *path, X509 *x) {
        FILE *f = fopen(path, "we");

        g_assert_nonnull(f);
        g_assert_cmpint(PEM_write_X509(f, x), ==, 1);
        g_assert_cmpint(fclose(f), ==, 0);
}

static void test_openssl_verifies(void) {
        g_autofree char *dir = g_dir_make_tmp("dockd-test-seal-XXXXXX", NULL);
        g_autofree char *man = g_build_filename(dir, "000000.man", NULL);
        g_autofree char *p7s = g_build_filename(dir, "000000.p7s", NULL);
        g_autofree char *cert = g_build_filename(dir, "dock-cert.pem", NULL);
        g_autofree char *other = g_build_filename(dir, "other-cert.pem", NULL);
        g_autofree char *cmd = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen("P-256"), *key2 = EVP_EC_gen("P-256");
        _cleanup_(X509_freep) X509 *x = NULL, *x2 = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ uint8_t *der = NULL;
        SealInput in = sample();
        size_t size, der_size;

        g_assert_nonnull(key);
        g_assert_cmpint(seal_dock_certificate(key, "precinct-7.dock-2", time(NULL), &x), ==, 0);
        g_assert_cmpint(seal_dock_certificate(key2, "other-dock", time(NULL), &x2), ==, 0);
        g_assert_cmpint(seal_dock_certificate(key, "no/slash", time(NULL), &x2), ==, -EINVAL);
        write_cert(cert, x);
        write_cert(other, x2);
        g_assert_cmpint(seal_manifest_format(&in, &text, &size), ==, 0);
        g_assert_cmpint(seal_sign(key, x, (const uint8_t *) text, size, &der, &der_size), ==, 0);
        write_bytes(man, text, size);
        write_bytes(p7s, der, der_size);
        g_assert_cmpint(openssl_verify(p7s, man, cert), ==, 0);
        /* Another dock's certificate is not this one. */
        g_assert_cmpint(openssl_verify(p7s, man, other), ==, 1);
        /* One byte of the manifest changed. */
        text[20] ^= 1;
        write_bytes(man, text, size);
        g_assert_cmpint(openssl_verify(p7s, man, cert), ==, 1);
        cmd = g_strdup_printf("rm -rf '%s'", dir);
        g_assert_cmpint(system(cmd), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/seal/manifest", test_manifest);
        g_test_add_func("/seal/hostile-inputs", test_hostile_inputs);
        g_test_add_func("/seal/recording-id", test_recording_id);
        g_test_add_func("/seal/openssl-verifies", test_openssl_verifies);
        return g_test_run();
}
