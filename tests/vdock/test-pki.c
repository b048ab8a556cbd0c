/* test-pki.c: revocation (cert = revoked, revoked_signer, the CRL file) and
 * an impostor presenting another camera's genuine certificate. */
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>

#include "challenge.h"
#include "scenario.h"
#include "test-util.h"

static X509_CRL *load_crl(const char *path)
{
        FILE *f = fopen(path, "re");
        X509_CRL *crl;

        g_assert_nonnull(f);
        crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
        fclose(f);
        g_assert_nonnull(crl);
        return crl;
}

static gboolean listed(X509_CRL *crl, X509 *cert)
{
        X509_REVOKED *r = NULL;
        return X509_CRL_get0_by_serial(crl, &r, X509_get0_serialNumber(cert)) == 1;
}

/* CMS verification of a segment's .p7s over its .man against the CA, with
 * or without the CRL. */
static gboolean cms_verifies(Fixture *f, Segment *seg, gboolean with_crl)
{
        Camera *cam = seg->recording->camera;
        GBytes *man = segment_manifest(cam, seg, TRUE), *sig = segment_signature(cam, seg);
        const unsigned char *p = g_bytes_get_data(sig, NULL);
        CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long) g_bytes_get_size(sig));
        BIO *content = BIO_new_mem_buf(g_bytes_get_data(man, NULL), (int) g_bytes_get_size(man));
        X509_STORE *store = X509_STORE_new();
        X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        gboolean ok;

        X509_LOOKUP_load_file(lookup, pki_ca_path(f->pki), X509_FILETYPE_PEM);
        if (with_crl) {
                X509_load_crl_file(lookup, pki_crl_path(f->pki), X509_FILETYPE_PEM);
                X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
        }
        X509_STORE_set_purpose(store, X509_PURPOSE_ANY);
        ok = cms && CMS_verify(cms, NULL, store, content, NULL, CMS_BINARY) == 1;
        CMS_ContentInfo_free(cms);
        BIO_free(content);
        X509_STORE_free(store);
        return ok;
}

static void test_crl_empty_then_revoked(void)
{
        Fixture f;
        X509_CRL *crl;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-V0001]\nsegments=1000\n");
        crl = load_crl(pki_crl_path(f.pki));
        g_assert_cmpint(X509_CRL_verify(crl, X509_get0_pubkey(pki_ca_cert(f.pki))), ==, 1);
        g_assert_false(listed(crl, camera_identity(f.cam)->cert));
        X509_CRL_free(crl);
        pki_revoke(f.pki, camera_identity(f.cam)->cert);
        crl = load_crl(pki_crl_path(f.pki));
        g_assert_true(listed(crl, camera_identity(f.cam)->cert));
        X509_CRL_free(crl);
        fixture_clear(&f);
}

static void test_cert_revoked(void)
{
        Fixture f;
        X509_CRL *crl;
        Segment *seg;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-V0002]\nsegments=1000\ncert=revoked\n");
        camera_prepare_pki(f.cam);
        crl = load_crl(pki_crl_path(f.pki));
        g_assert_true(listed(crl, camera_identity(f.cam)->cert));
        X509_CRL_free(crl);
        seg = ((Recording *) f.cam->recordings->pdata[0])->segments->pdata[0];
        g_assert_true(cms_verifies(&f, seg, FALSE));
        g_assert_false(cms_verifies(&f, seg, TRUE));
        fixture_clear(&f);
}

static void test_revoked_signer(void)
{
        Fixture f;
        Recording *rec;
        X509_CRL *crl;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-V0003]\nsegments=2x1000\nrevoked_signer=0\n");
        camera_prepare_pki(f.cam);
        rec = f.cam->recordings->pdata[0];
        crl = load_crl(pki_crl_path(f.pki));
        /* it presents a good certificate; segment 0 was signed under a revoked one */
        g_assert_false(listed(crl, camera_identity(f.cam)->cert));
        g_assert_true(listed(crl, camera_old_identity(f.cam)->cert));
        X509_CRL_free(crl);
        g_assert_true(cms_verifies(&f, rec->segments->pdata[0], FALSE));
        g_assert_false(cms_verifies(&f, rec->segments->pdata[0], TRUE));
        g_assert_true(cms_verifies(&f, rec->segments->pdata[1], TRUE));
        g_assert_cmpuint(object_size(f.cam, ((Segment *) rec->segments->pdata[0])->files[FILE_P7S]), ==,
                         g_bytes_get_size(segment_signature(f.cam, rec->segments->pdata[0])));
        fixture_clear(&f);
}

static void test_impostor(void)
{
        Fixture f;
        Camera *genuine, *impostor;
        DeviceIdentity *g, *i;
        Segment *seg;

        fixture_init(&f, "[dock]\nbays=2\n[camera BWC-I0001]\nsegments=1000\nimpersonate=BWC-G0001\n"
                         "[camera BWC-G0001]\nsegments=1000\n");
        impostor = f.cam;
        genuine = scenario_camera(f.scenario, "BWC-G0001");
        genuine->pki = f.pki;
        impostor->impersonated = genuine;
        g = camera_identity(genuine);
        i = camera_identity(impostor);
        g_assert_cmpstr(camera_presented_serial(impostor), ==, "BWC-G0001");
        /* the very certificate the genuine camera presents ... */
        g_assert_true(g_bytes_equal(g->cert_der, i->cert_der));
        /* ... but not its key: its manifests do not verify */
        g_assert_cmpint(EVP_PKEY_eq(X509_get0_pubkey(i->cert), i->key), !=, 1);
        seg = ((Recording *) impostor->recordings->pdata[0])->segments->pdata[0];
        g_assert_true(g_strstr_len(g_bytes_get_data(segment_manifest(impostor, seg, TRUE), NULL), -1,
                                   "device_serial=BWC-G0001\n") != NULL);
        g_assert_false(cms_verifies(&f, seg, FALSE));
        camera_finalize(genuine, &f.clock);
        g_assert_true(cms_verifies(&f, ((Recording *) genuine->recordings->pdata[0])->segments->pdata[0], FALSE));
        fixture_clear(&f);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/pki/crl-empty-then-revoked", test_crl_empty_then_revoked);
        g_test_add_func("/pki/cert-revoked", test_cert_revoked);
        g_test_add_func("/pki/revoked-signer", test_revoked_signer);
        g_test_add_func("/pki/impostor", test_impostor);
        return g_test_run();
}
