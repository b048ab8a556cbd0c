/* SPDX-License-Identifier: Apache-2.0 */
/* Trust decisions (§12.3, §12.4): a test PKI (CA, intermediate, device
 * certificates good and bad in every way that matters) and CMS signatures are
 * made at test time with OpenSSL; no key is ever committed. Each outcome and its
 * reason is checked, and the stock "openssl cms -verify" must agree with us.
 * verify.c must print nothing: stderr is captured and must stay empty. */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sample-manifest.h"
#include "verify.h"

#define SERIAL "BWC-0001"

static const char manifest_text[] = SAMPLE_MANIFEST;

/* ---- making certificates ---- */

typedef struct CertSpec {
        const char *cn;
        const char *serial_number;     /* subject serialNumber; NULL: none */
        const char *serial_number2;    /* a second serialNumber attribute */
        EVP_PKEY *key;                 /* the subject's key */
        X509 *issuer;                  /* NULL: self-signed */
        EVP_PKEY *issuer_key;
        long not_before, not_after;    /* seconds from now */
        bool ca;
        const char *key_usage;         /* NULL: no keyUsage extension */
} CertSpec;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;

        X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        g_assert_nonnull(ext);
        g_assert_true(X509_add_ext(x, ext, -1));
        X509_EXTENSION_free(ext);
}

static X509 *make_cert(const CertSpec *s) {
        static long next_serial = 1;
        X509 *x = X509_new();
        X509_NAME *name = X509_NAME_new();
        X509 *issuer;

        g_assert_nonnull(x);
        g_assert_true(X509_set_version(x, X509_VERSION_3));
        g_assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++));
        g_assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *) "dockd test", -1, -1, 0));
        g_assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) s->cn, -1, -1, 0));
        if (s->serial_number)
                g_assert_true(X509_NAME_add_entry_by_NID(name, NID_serialNumber, V_ASN1_PRINTABLESTRING,
                                                         (const unsigned char *) s->serial_number, -1, -1, 0));
        if (s->serial_number2)
                g_assert_true(X509_NAME_add_entry_by_NID(name, NID_serialNumber, V_ASN1_PRINTABLESTRING,
                                                         (const unsigned char *) s->serial_number2, -1, -1, 0));
        g_assert_true(X509_set_subject_name(x, name));
        issuer = s->issuer ? s->issuer : x;
        g_assert_true(X509_set_issuer_name(x, X509_get_subject_name(issuer)));
        g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), s->not_before));
        g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), s->not_after));
        g_assert_true(X509_set_pubkey(x, s->key));

        add_ext(x, issuer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        if (s->key_usage)
                add_ext(x, issuer, NID_key_usage, s->key_usage);
        add_ext(x, issuer, NID_subject_key_identifier, "hash");
        if (s->issuer)
                add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");

        g_assert_cmpint(X509_sign(x, s->issuer_key ? s->issuer_key : s->key, EVP_sha256()), >, 0);
        X509_NAME_free(name);
        return x;
}

static GBytes *cert_der(X509 *x) {
        unsigned char *der = NULL;
        int len = i2d_X509(x, &der);
        GBytes *b;

        g_assert_cmpint(len, >, 0);
        b = g_bytes_new(der, (gsize) len);
        OPENSSL_free(der);
        return b;
}

static void write_pem_certs(const char *path, X509 *const *certs, size_t n) {
        BIO *bio = BIO_new_file(path, "w");

        g_assert_nonnull(bio);
        for (size_t i = 0; i < n; i++)
                g_assert_true(PEM_write_bio_X509(bio, certs[i]));
        BIO_free(bio);
}

/* ---- the test PKI ---- */

typedef struct Fixture {
        char *dir;
        char *ca_path;                 /* the agency CA: the only anchor */
        EVP_PKEY *ca_key, *int_key, *dev_key, *other_key, *rsa_key, *p384_key;
        X509 *ca, *inter, *other_ca;
        TrustStore *ts;
        int saved_stderr;
        char *stderr_path;
} Fixture;

static const long DAY = 86400;

static void fixture_setup(Fixture *f, gconstpointer data) {
        g_autofree char *err = NULL;

        f->dir = g_dir_make_tmp("dockd-test-verify-XXXXXX", NULL);
        g_assert_nonnull(f->dir);

        f->ca_key = EVP_EC_gen("P-256");
        f->int_key = EVP_EC_gen("P-256");
        f->dev_key = EVP_EC_gen("P-256");
        f->other_key = EVP_EC_gen("P-256");
        f->p384_key = EVP_EC_gen("P-384");
        g_assert_true(f->ca_key && f->int_key && f->dev_key && f->other_key && f->p384_key);

        f->ca = make_cert(&(CertSpec) { .cn = "Agency Root CA", .key = f->ca_key, .not_before = -DAY,
                                        .not_after = 3650 * DAY, .ca = true,
                                        .key_usage = "critical,keyCertSign,cRLSign" });
        f->inter = make_cert(&(CertSpec) { .cn = "Vendor Device CA", .key = f->int_key, .issuer = f->ca,
                                           .issuer_key = f->ca_key, .not_before = -DAY,
                                           .not_after = 1825 * DAY, .ca = true,
                                           .key_usage = "critical,keyCertSign,cRLSign" });
        f->other_ca = make_cert(&(CertSpec) { .cn = "Agency Root CA", .key = f->other_key,
                                              .not_before = -DAY, .not_after = 3650 * DAY, .ca = true,
                                              .key_usage = "critical,keyCertSign,cRLSign" });

        f->ca_path = g_build_filename(f->dir, "ca.pem", NULL);
        write_pem_certs(f->ca_path, &f->ca, 1);
        g_assert_cmpint(trust_store_load(f->ca_path, &f->ts, &err), ==, 0);
        g_assert_null(err);

        /* From here on, anything written to stderr is a failure (teardown checks). */
        fflush(stderr);
        f->stderr_path = g_build_filename(f->dir, "stderr", NULL);
        f->saved_stderr = dup(STDERR_FILENO);
        {
                int fd = open(f->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                g_assert_cmpint(fd, >=, 0);
                g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
                close(fd);
        }
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
        g_autofree char *captured = NULL;
        gsize len = 0;

        fflush(stderr);
        g_assert_cmpint(dup2(f->saved_stderr, STDERR_FILENO), ==, STDERR_FILENO);
        close(f->saved_stderr);
        g_assert_true(g_file_get_contents(f->stderr_path, &captured, &len, NULL));
        if (len > 0)
                g_error("something printed to stderr: %s", captured);

        trust_store_free(f->ts);
        X509_free(f->ca);
        X509_free(f->inter);
        X509_free(f->other_ca);
        EVP_PKEY_free(f->ca_key);
        EVP_PKEY_free(f->int_key);
        EVP_PKEY_free(f->dev_key);
        EVP_PKEY_free(f->other_key);
        EVP_PKEY_free(f->p384_key);
        EVP_PKEY_free(f->rsa_key);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->dir);
        g_free(f->ca_path);
        g_free(f->stderr_path);
}

/* RSA key generation takes a while: only for the tests that need one. */
static EVP_PKEY *rsa_key(Fixture *f) {
        if (!f->rsa_key)
                f->rsa_key = EVP_RSA_gen(2048);
        g_assert_nonnull(f->rsa_key);
        return f->rsa_key;
}

/* The good device certificate, issued by the intermediate, with overrides. */
static X509 *device_cert(Fixture *f, const CertSpec *over) {
        CertSpec s = {
                .cn = "Sentinel V3 BWC-0001", .serial_number = SERIAL, .key = f->dev_key,
                .issuer = f->inter, .issuer_key = f->int_key, .not_before = -DAY,
                .not_after = 365 * DAY, .key_usage = "critical,digitalSignature",
        };

        if (over) {
                if (over->serial_number || over->cn)
                        s.serial_number = over->serial_number;
                if (over->serial_number2)
                        s.serial_number2 = over->serial_number2;
                if (over->key)
                        s.key = over->key;
                if (over->issuer) {
                        s.issuer = over->issuer;
                        s.issuer_key = over->issuer_key;
                }
                if (over->not_before || over->not_after) {
                        s.not_before = over->not_before;
                        s.not_after = over->not_after;
                }
                if (over->key_usage)
                        s.key_usage = streq(over->key_usage, "none") ? NULL : over->key_usage;
        }
        return make_cert(&s);
}

static void check_queue_empty(void) {
        g_assert_cmpuint(ERR_peek_error(), ==, 0);
}

/* verify_device_certificates() over DER of the given certs; returns r and the reason. */
static int verify_certs(Fixture *f, X509 *const *certs, size_t n, const char *serial, char **ret_reason) {
        GBytes *ders[8];
        const uint8_t *der[8];
        size_t sizes[8];
        int r;

        g_assert_cmpuint(n, <=, 8);
        for (size_t i = 0; i < n; i++) {
                ders[i] = cert_der(certs[i]);
                der[i] = g_bytes_get_data(ders[i], &sizes[i]);
        }
        *ret_reason = NULL;
        r = verify_device_certificates(f->ts, der, sizes, n, serial, ret_reason);
        check_queue_empty();
        if (r < 0)
                g_assert_nonnull(*ret_reason);
        else
                g_assert_null(*ret_reason);
        for (size_t i = 0; i < n; i++)
                g_bytes_unref(ders[i]);
        return r;
}

static void expect_device(Fixture *f, X509 *dev, bool with_intermediate, const char *serial,
                          int expect_r, const char *expect_reason) {
        X509 *chain[2] = { dev, f->inter };
        g_autofree char *reason = NULL;
        int r = verify_certs(f, chain, with_intermediate ? 2 : 1, serial, &reason);

        if (r != expect_r || g_strcmp0(reason, expect_reason) != 0)
                g_error("got %d \"%s\", expected %d \"%s\"", r, reason, expect_r, expect_reason);
}

/* ---- trust store ---- */

static void test_trust_store(Fixture *f, gconstpointer data) {
        g_autofree char *bundle = g_build_filename(f->dir, "bundle.pem", NULL);
        g_autofree char *empty = g_build_filename(f->dir, "empty.pem", NULL);
        g_autofree char *junk = g_build_filename(f->dir, "junk.pem", NULL);
        g_autofree char *missing = g_build_filename(f->dir, "missing.pem", NULL);
        X509 *both[] = { f->other_ca, f->ca };
        TrustStore *ts = NULL;
        char *err = NULL;

        /* Every certificate in the bundle is an anchor: a device of either CA verifies. */
        write_pem_certs(bundle, both, 2);
        g_assert_cmpint(trust_store_load(bundle, &ts, &err), ==, 0);
        g_assert_null(err);
        {
                X509 *other_dev = make_cert(&(CertSpec) { .cn = "d", .serial_number = SERIAL, .key = f->dev_key,
                                                          .issuer = f->other_ca, .issuer_key = f->other_key,
                                                          .not_before = -DAY, .not_after = DAY });
                X509 *dev = device_cert(f, NULL);
                X509 *chain[] = { dev, f->inter };
                TrustStore *saved = f->ts;
                g_autofree char *reason = NULL;

                f->ts = ts;
                g_assert_cmpint(verify_certs(f, &other_dev, 1, SERIAL, &reason), ==, 0);
                g_assert_cmpint(verify_certs(f, chain, 2, SERIAL, &reason), ==, 0);
                f->ts = saved;
                X509_free(other_dev);
                X509_free(dev);
        }
        g_assert_null(trust_store_free(ts));
        g_assert_null(trust_store_free(NULL));

        ts = (TrustStore *) 0x1;
        g_assert_cmpint(trust_store_load(missing, &ts, &err), ==, -ENOENT);
        g_assert_true(ts == (TrustStore *) 0x1);
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err, "missing.pem"));
        g_clear_pointer(&err, free);

        g_assert_true(g_file_set_contents(empty, "", 0, NULL));
        g_assert_cmpint(trust_store_load(empty, &ts, &err), ==, -EBADMSG);
        g_assert_nonnull(err);
        g_clear_pointer(&err, free);

        g_assert_true(g_file_set_contents(junk, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", -1, NULL));
        g_assert_cmpint(trust_store_load(junk, &ts, &err), ==, -EBADMSG);
        g_assert_nonnull(err);
        g_clear_pointer(&err, free);
        g_assert_true(ts == (TrustStore *) 0x1);
        check_queue_empty();
}

/* ---- device certificates ---- */

static void test_device_good(Fixture *f, gconstpointer data) {
        X509 *dev = device_cert(f, NULL);
        /* Issued straight by the anchor, no intermediate; no keyUsage at all. */
        X509 *direct = make_cert(&(CertSpec) { .cn = "d", .serial_number = SERIAL, .key = f->dev_key,
                                               .issuer = f->ca, .issuer_key = f->ca_key,
                                               .not_before = -DAY, .not_after = DAY });
        g_autofree char *reason = NULL;

        expect_device(f, dev, true, SERIAL, 0, NULL);
        g_assert_cmpint(verify_certs(f, &direct, 1, SERIAL, &reason), ==, 0);
        /* A NULL reason pointer is allowed. */
        {
                GBytes *b = cert_der(dev);
                GBytes *i = cert_der(f->inter);
                const uint8_t *der[] = { g_bytes_get_data(b, NULL), g_bytes_get_data(i, NULL) };
                const size_t sizes[] = { g_bytes_get_size(b), g_bytes_get_size(i) };

                g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 2, SERIAL, NULL), ==, 0);
                g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 2, "BWC-0002", NULL), ==, -EKEYREJECTED);
                check_queue_empty();
                g_bytes_unref(b);
                g_bytes_unref(i);
        }
        X509_free(dev);
        X509_free(direct);
}

static void test_device_missing_intermediate(Fixture *f, gconstpointer data) {
        X509 *dev = device_cert(f, NULL);

        expect_device(f, dev, false, SERIAL, -EKEYREJECTED,
                      "certificate not trusted: unable to get local issuer certificate");
        X509_free(dev);
}

static void test_device_expired(Fixture *f, gconstpointer data) {
        X509 *dev = device_cert(f, &(CertSpec) { .not_before = -10 * DAY, .not_after = -DAY });
        X509 *old_inter = make_cert(&(CertSpec) { .cn = "Vendor Device CA", .key = f->int_key, .issuer = f->ca,
                                                  .issuer_key = f->ca_key, .not_before = -10 * DAY,
                                                  .not_after = -DAY, .ca = true });
        X509 *good = device_cert(f, NULL);
        X509 *chain[] = { good, old_inter };
        g_autofree char *reason = NULL;

        expect_device(f, dev, true, SERIAL, -EKEYREJECTED, "certificate expired");
        g_assert_cmpint(verify_certs(f, chain, 2, SERIAL, &reason), ==, -EKEYREJECTED);
        g_assert_cmpstr(reason, ==, "CA certificate expired");
        X509_free(dev);
        X509_free(old_inter);
        X509_free(good);
}

static void test_device_not_yet_valid(Fixture *f, gconstpointer data) {
        X509 *dev = device_cert(f, &(CertSpec) { .not_before = DAY, .not_after = 10 * DAY });

        expect_device(f, dev, true, SERIAL, -EKEYREJECTED, "certificate not yet valid");
        X509_free(dev);
}

static void test_device_wrong_serial(Fixture *f, gconstpointer data) {
        X509 *dev = device_cert(f, &(CertSpec) { .serial_number = "BWC-2" });
        X509 *weird = device_cert(f, &(CertSpec) { .serial_number = "bwc 0001\x1b[0m" });

        expect_device(f, dev, true, "BWC-1", -EKEYREJECTED, "certificate serial BWC-2 does not match camera BWC-1");
        expect_device(f, dev, true, "BWC-2", 0, NULL);
        /* The certificate's text is not quoted unless it is a serial. */
        expect_device(f, weird, true, SERIAL, -EKEYREJECTED, "certificate serial does not match camera BWC-0001");
        /* A prefix is not equal. */
        expect_device(f, dev, true, "BWC-", -EKEYREJECTED, "certificate serial BWC-2 does not match camera BWC-");
        X509_free(dev);
        X509_free(weird);
}

static void test_device_other_ca(Fixture *f, gconstpointer data) {
        /* Same names as the real CA, different key: chains by name, fails by signature. */
        X509 *other_inter = make_cert(&(CertSpec) { .cn = "Vendor Device CA", .key = f->int_key,
                                                    .issuer = f->other_ca, .issuer_key = f->other_key,
                                                    .not_before = -DAY, .not_after = DAY, .ca = true });
        X509 *dev = device_cert(f, &(CertSpec) { .issuer = f->other_ca, .issuer_key = f->other_key });
        X509 *chain[] = { dev, other_inter };
        g_autofree char *reason = NULL;

        g_assert_cmpint(verify_certs(f, &dev, 1, SERIAL, &reason), ==, -EKEYREJECTED);
        g_assert_true(g_str_has_prefix(reason, "certificate not trusted: "));
        g_clear_pointer(&reason, free);
        g_assert_cmpint(verify_certs(f, chain, 2, SERIAL, &reason), ==, -EKEYREJECTED);
        g_assert_true(g_str_has_prefix(reason, "certificate not trusted: "));
        g_clear_pointer(&reason, free);
        /* Self-signed device. */
        {
                X509 *self = make_cert(&(CertSpec) { .cn = "d", .serial_number = SERIAL, .key = f->dev_key,
                                                     .not_before = -DAY, .not_after = DAY });
                g_assert_cmpint(verify_certs(f, &self, 1, SERIAL, &reason), ==, -EKEYREJECTED);
                g_assert_cmpstr(reason, ==, "certificate not trusted: self-signed certificate");
                X509_free(self);
        }
        X509_free(other_inter);
        X509_free(dev);
}

static void test_device_key(Fixture *f, gconstpointer data) {
        X509 *rsa = device_cert(f, &(CertSpec) { .key = rsa_key(f) });
        X509 *p384 = device_cert(f, &(CertSpec) { .key = f->p384_key });

        expect_device(f, rsa, true, SERIAL, -EKEYREJECTED, "certificate key is not ECDSA P-256");
        expect_device(f, p384, true, SERIAL, -EKEYREJECTED, "certificate key is not ECDSA P-256");
        X509_free(rsa);
        X509_free(p384);
}

static void test_device_key_usage(Fixture *f, gconstpointer data) {
        X509 *enc = device_cert(f, &(CertSpec) { .key_usage = "critical,keyAgreement" });
        X509 *none = device_cert(f, &(CertSpec) { .key_usage = "none" });
        X509 *both = device_cert(f, &(CertSpec) { .key_usage = "digitalSignature,nonRepudiation" });

        expect_device(f, enc, true, SERIAL, -EKEYREJECTED, "certificate key usage does not allow digital signatures");
        expect_device(f, none, true, SERIAL, 0, NULL);
        expect_device(f, both, true, SERIAL, 0, NULL);
        X509_free(enc);
        X509_free(none);
        X509_free(both);
}

static void test_device_serial_attribute(Fixture *f, gconstpointer data) {
        X509 *none = device_cert(f, &(CertSpec) { .cn = "no serial" });
        X509 *two = device_cert(f, &(CertSpec) { .serial_number2 = SERIAL });

        expect_device(f, none, true, SERIAL, -EKEYREJECTED, "certificate subject has no serialNumber");
        expect_device(f, two, true, SERIAL, -EKEYREJECTED, "certificate subject has more than one serialNumber");
        X509_free(none);
        X509_free(two);
}

static void test_device_malformed(Fixture *f, gconstpointer data) {
        X509 *dev = device_cert(f, NULL);
        g_autoptr(GBytes) b = cert_der(dev);
        g_autoptr(GBytes) ib = cert_der(f->inter);
        size_t size = g_bytes_get_size(b);
        g_autofree uint8_t *longer = g_malloc(size + 1);
        const uint8_t *der[5];
        size_t sizes[5];
        char *reason = NULL;

        /* Every prefix of the DER: undecodable. */
        for (size_t i = 0; i < size; i++) {
                g_autofree uint8_t *copy = g_memdup2(g_bytes_get_data(b, NULL), i ? i : 1);
                der[0] = copy;
                sizes[0] = i;
                g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 1, SERIAL, &reason), ==, -EBADMSG);
                g_assert_cmpstr(reason, ==, "device certificate is not DER X.509");
                g_clear_pointer(&reason, free);
                check_queue_empty();
        }
        /* A byte too many. */
        memcpy(longer, g_bytes_get_data(b, NULL), size);
        longer[size] = 0;
        der[0] = longer;
        sizes[0] = size + 1;
        g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 1, SERIAL, &reason), ==, -EBADMSG);
        g_clear_pointer(&reason, free);
        /* A bad intermediate. */
        der[0] = g_bytes_get_data(b, NULL);
        sizes[0] = size;
        der[1] = (const uint8_t *) "\x30\x03\x02\x01\x00";
        sizes[1] = 5;
        g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 2, SERIAL, &reason), ==, -EBADMSG);
        g_assert_cmpstr(reason, ==, "certificate 2 is not DER X.509");
        g_clear_pointer(&reason, free);
        /* No certificates; too many. */
        g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 0, SERIAL, &reason), ==, -EBADMSG);
        g_clear_pointer(&reason, free);
        for (size_t i = 0; i < 5; i++) {
                der[i] = i == 0 ? g_bytes_get_data(b, NULL) : g_bytes_get_data(ib, NULL);
                sizes[i] = i == 0 ? size : g_bytes_get_size(ib);
        }
        g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 4, SERIAL, &reason), ==, 0);
        g_assert_cmpint(verify_device_certificates(f->ts, der, sizes, 5, SERIAL, &reason), ==, -EBADMSG);
        g_clear_pointer(&reason, free);
        check_queue_empty();
        X509_free(dev);
}

/* ---- signatures ---- */

typedef struct SignSpec {
        X509 *signer;                  /* NULL: the good device certificate */
        EVP_PKEY *key;                 /* NULL: the device key */
        const EVP_MD *md;              /* NULL: SHA-256 */
        bool no_intermediate;
        bool no_certs;
        bool attached;
        bool second_signer;
        bool text_mode;                /* MIME canonicalisation (what CMS_BINARY avoids) */
        bool corrupt_signature;        /* flip a bit in the ECDSA signature value */
} SignSpec;

static GBytes *sign(Fixture *f, const char *content, size_t len, const SignSpec *s) {
        unsigned flags = CMS_PARTIAL | (s->text_mode ? 0 : CMS_BINARY) | (s->attached ? 0 : CMS_DETACHED);
        X509 *signer = s->signer ? X509_dup(s->signer) : device_cert(f, NULL);
        EVP_PKEY *key = s->key ? s->key : f->dev_key;
        CMS_ContentInfo *cms;
        unsigned char *der = NULL;
        BIO *in;
        GBytes *out;
        int len_der;

        cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
        g_assert_nonnull(cms);
        g_assert_nonnull(CMS_add1_signer(cms, signer, key, s->md ? s->md : EVP_sha256(),
                                         s->no_certs ? CMS_NOCERTS : 0));
        if (s->second_signer) {
                X509 *other = make_cert(&(CertSpec) { .cn = "d2", .serial_number = SERIAL, .key = f->other_key,
                                                      .issuer = f->inter, .issuer_key = f->int_key,
                                                      .not_before = -DAY, .not_after = DAY });
                g_assert_nonnull(CMS_add1_signer(cms, other, f->other_key, EVP_sha256(), 0));
                X509_free(other);
        }
        if (!s->no_intermediate && !s->no_certs)
                g_assert_true(CMS_add1_cert(cms, f->inter));
        in = BIO_new_mem_buf(content, (int) len);
        g_assert_true(CMS_final(cms, in, NULL, flags & ~CMS_PARTIAL));
        if (s->corrupt_signature) {
                CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
                ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);

                /* Inside r of the DER ECDSA-Sig-Value: still well-formed, no longer valid. */
                g_autofree unsigned char *v = g_memdup2(ASN1_STRING_get0_data(sig), (gsize) ASN1_STRING_length(sig));

                g_assert_cmpint(ASN1_STRING_length(sig), >, 20);
                v[10] ^= 0x01;
                g_assert_true(ASN1_OCTET_STRING_set(sig, v, ASN1_STRING_length(sig)));
        }
        len_der = i2d_CMS_ContentInfo(cms, &der);
        g_assert_cmpint(len_der, >, 0);
        out = g_bytes_new(der, (gsize) len_der);
        OPENSSL_free(der);
        BIO_free(in);
        CMS_ContentInfo_free(cms);
        X509_free(signer);
        return out;
}

static int verify_sig(Fixture *f, const char *content, size_t len, GBytes *p7s, const char *serial, char **ret_reason) {
        g_autofree uint8_t *man = g_memdup2(content, len ? len : 1);
        g_autofree uint8_t *sig = g_memdup2(g_bytes_get_data(p7s, NULL), g_bytes_get_size(p7s));
        int r;

        *ret_reason = NULL;
        r = verify_manifest_signature(f->ts, man, len, sig, g_bytes_get_size(p7s), serial, ret_reason);
        check_queue_empty();
        if (r < 0)
                g_assert_nonnull(*ret_reason);
        else
                g_assert_null(*ret_reason);
        return r;
}

static void expect_sig(Fixture *f, const SignSpec *s, const char *serial, int expect_r, const char *expect_reason) {
        g_autoptr(GBytes) p7s = sign(f, manifest_text, strlen(manifest_text), s);
        g_autofree char *reason = NULL;
        int r = verify_sig(f, manifest_text, strlen(manifest_text), p7s, serial, &reason);

        if (r != expect_r || g_strcmp0(reason, expect_reason) != 0)
                g_error("got %d \"%s\", expected %d \"%s\"", r, reason, expect_r, expect_reason);
}

static void test_signature_good(Fixture *f, gconstpointer data) {
        g_autoptr(GBytes) p7s = sign(f, manifest_text, strlen(manifest_text), &(SignSpec) {});

        expect_sig(f, &(SignSpec) {}, SERIAL, 0, NULL);
        g_assert_cmpint(verify_manifest_signature(f->ts, (const uint8_t *) manifest_text, strlen(manifest_text),
                                                  g_bytes_get_data(p7s, NULL), g_bytes_get_size(p7s), SERIAL, NULL),
                        ==, 0);
        /* Signer certificate issued straight by the anchor, no intermediate needed. */
        {
                X509 *direct = make_cert(&(CertSpec) { .cn = "d", .serial_number = SERIAL, .key = f->dev_key,
                                                       .issuer = f->ca, .issuer_key = f->ca_key,
                                                       .not_before = -DAY, .not_after = DAY });
                expect_sig(f, &(SignSpec) { .signer = direct, .no_intermediate = true }, SERIAL, 0, NULL);
                X509_free(direct);
        }
        /* An empty manifest can be signed too (it then fails manifest_parse, not this). */
        {
                g_autoptr(GBytes) e = sign(f, "", 0, &(SignSpec) {});
                g_autofree char *reason = NULL;
                g_assert_cmpint(verify_sig(f, "", 0, e, SERIAL, &reason), ==, 0);
        }
}

static void test_signature_tampered(Fixture *f, gconstpointer data) {
        g_autoptr(GBytes) p7s = sign(f, manifest_text, strlen(manifest_text), &(SignSpec) {});
        size_t len = strlen(manifest_text);
        g_autofree char *text = g_strdup(manifest_text);

        /* Every single-bit flip in the first 200 bytes, and truncations and an extension. */
        for (size_t i = 0; i < 200; i++) {
                g_autofree char *reason = NULL;
                text[i] ^= 0x01;
                g_assert_cmpint(verify_sig(f, text, len, p7s, SERIAL, &reason), ==, -EKEYREJECTED);
                g_assert_cmpstr(reason, ==, "signature does not match the manifest");
                text[i] ^= 0x01;
        }
        for (size_t l = 0; l < len; l += 37) {
                g_autofree char *reason = NULL;
                g_assert_cmpint(verify_sig(f, text, l, p7s, SERIAL, &reason), ==, -EKEYREJECTED);
        }
        {
                g_autofree char *longer = g_strconcat(manifest_text, "x", NULL);
                g_autofree char *reason = NULL;
                g_assert_cmpint(verify_sig(f, longer, len + 1, p7s, SERIAL, &reason), ==, -EKEYREJECTED);
                g_assert_cmpstr(reason, ==, "signature does not match the manifest");
        }
        /* The signature value itself altered. */
        expect_sig(f, &(SignSpec) { .corrupt_signature = true }, SERIAL, -EKEYREJECTED,
                   "signature does not match the manifest");
}

static void test_signature_binary(Fixture *f, gconstpointer data) {
        /* CMS_BINARY: the bytes signed are the bytes verified, LF stays LF. A
         * signature made in text mode (LF → CRLF before hashing) must not verify
         * against the LF manifest, and the CRLF file is not the manifest. */
        g_autoptr(GBytes) text_mode = sign(f, manifest_text, strlen(manifest_text), &(SignSpec) { .text_mode = true });
        g_autofree char *reason = NULL;
        g_auto(GStrv) lines = g_strsplit(manifest_text, "\n", -1);
        g_autofree char *crlf = g_strjoinv("\r\n", lines);

        g_assert_cmpint(verify_sig(f, manifest_text, strlen(manifest_text), text_mode, SERIAL, &reason), ==, -EKEYREJECTED);
        g_assert_cmpstr(reason, ==, "signature does not match the manifest");
        g_clear_pointer(&reason, free);
        {
                g_autoptr(GBytes) p7s = sign(f, manifest_text, strlen(manifest_text), &(SignSpec) {});
                g_assert_cmpint(verify_sig(f, crlf, strlen(crlf), p7s, SERIAL, &reason), ==, -EKEYREJECTED);
                g_clear_pointer(&reason, free);
        }
        /* Binary content with NULs and a lone CR verifies as is. */
        {
                const char bin[] = "a\0b\rc\n\xff";
                g_autoptr(GBytes) p7s = sign(f, bin, sizeof bin, &(SignSpec) {});
                g_assert_cmpint(verify_sig(f, bin, sizeof bin, p7s, SERIAL, &reason), ==, 0);
        }
}

static void test_signature_serial(Fixture *f, gconstpointer data) {
        X509 *two = device_cert(f, &(CertSpec) { .serial_number = "BWC-2" });
        X509 *none = device_cert(f, &(CertSpec) { .cn = "no serial" });

        expect_sig(f, &(SignSpec) {}, "BWC-1", -EKEYREJECTED, "certificate serial BWC-0001 does not match camera BWC-1");
        expect_sig(f, &(SignSpec) { .signer = two }, SERIAL, -EKEYREJECTED,
                   "certificate serial BWC-2 does not match camera BWC-0001");
        expect_sig(f, &(SignSpec) { .signer = none }, SERIAL, -EKEYREJECTED, "certificate subject has no serialNumber");
        X509_free(two);
        X509_free(none);
}

static void test_signature_validity(Fixture *f, gconstpointer data) {
        X509 *expired = device_cert(f, &(CertSpec) { .not_before = -10 * DAY, .not_after = -DAY });
        X509 *future = device_cert(f, &(CertSpec) { .not_before = DAY, .not_after = 10 * DAY });

        expect_sig(f, &(SignSpec) { .signer = expired }, SERIAL, -EKEYREJECTED, "certificate expired");
        expect_sig(f, &(SignSpec) { .signer = future }, SERIAL, -EKEYREJECTED, "certificate not yet valid");
        X509_free(expired);
        X509_free(future);
}

static void test_signature_untrusted(Fixture *f, gconstpointer data) {
        X509 *other = device_cert(f, &(CertSpec) { .issuer = f->other_ca, .issuer_key = f->other_key });
        X509 *self = make_cert(&(CertSpec) { .cn = "d", .serial_number = SERIAL, .key = f->dev_key,
                                             .not_before = -DAY, .not_after = DAY });

        expect_sig(f, &(SignSpec) { .signer = other, .no_intermediate = true }, SERIAL, -EKEYREJECTED,
                   "certificate not trusted: unable to get local issuer certificate");
        expect_sig(f, &(SignSpec) { .no_intermediate = true }, SERIAL, -EKEYREJECTED,
                   "certificate not trusted: unable to get local issuer certificate");
        expect_sig(f, &(SignSpec) { .signer = self, .no_intermediate = true }, SERIAL, -EKEYREJECTED,
                   "certificate not trusted: self-signed certificate");
        X509_free(other);
        X509_free(self);
}

static void test_signature_key(Fixture *f, gconstpointer data) {
        X509 *rsa = device_cert(f, &(CertSpec) { .key = rsa_key(f) });
        X509 *ku = device_cert(f, &(CertSpec) { .key_usage = "critical,keyEncipherment" });

        expect_sig(f, &(SignSpec) { .signer = rsa, .key = rsa_key(f) }, SERIAL, -EKEYREJECTED,
                   "certificate key is not ECDSA P-256");
        expect_sig(f, &(SignSpec) { .signer = ku }, SERIAL, -EKEYREJECTED,
                   "certificate key usage does not allow digital signatures");
        X509_free(rsa);
        X509_free(ku);
}

static void test_signature_structure(Fixture *f, gconstpointer data) {
        expect_sig(f, &(SignSpec) { .second_signer = true }, SERIAL, -EKEYREJECTED, "signature has 2 signers, not one");
        expect_sig(f, &(SignSpec) { .md = EVP_sha1() }, SERIAL, -EKEYREJECTED, "signature digest is not SHA-256");
        expect_sig(f, &(SignSpec) { .md = EVP_sha384() }, SERIAL, -EKEYREJECTED, "signature digest is not SHA-256");
        expect_sig(f, &(SignSpec) { .no_certs = true }, SERIAL, -EKEYREJECTED,
                   "signature does not carry the signer's certificate");
        expect_sig(f, &(SignSpec) { .attached = true }, SERIAL, -EKEYREJECTED, "signature is not detached");
}

static void test_signature_malformed(Fixture *f, gconstpointer data) {
        g_autoptr(GBytes) p7s = sign(f, manifest_text, strlen(manifest_text), &(SignSpec) {});
        const uint8_t *d = g_bytes_get_data(p7s, NULL);
        size_t size = g_bytes_get_size(p7s);
        char *reason = NULL;

        /* Every prefix: undecodable (and nothing leaks: ASan/valgrind runs). */
        for (size_t i = 0; i < size; i++) {
                g_autoptr(GBytes) cut = g_bytes_new(d, i);
                g_assert_cmpint(verify_sig(f, manifest_text, strlen(manifest_text), cut, SERIAL, &reason), ==, -EBADMSG);
                g_clear_pointer(&reason, free);
        }
        /* Trailing bytes. */
        {
                g_autofree uint8_t *longer = g_malloc(size + 2);
                g_autoptr(GBytes) b = NULL;
                memcpy(longer, d, size);
                longer[size] = 0;
                longer[size + 1] = 0;
                b = g_bytes_new(longer, size + 2);
                g_assert_cmpint(verify_sig(f, manifest_text, strlen(manifest_text), b, SERIAL, &reason), ==, -EBADMSG);
                g_assert_cmpstr(reason, ==, "signature has trailing bytes");
                g_clear_pointer(&reason, free);
        }
        /* Not SignedData: a CMS "data" ContentInfo. */
        {
                BIO *in = BIO_new_mem_buf("x", 1);
                CMS_ContentInfo *cms = CMS_data_create(in, CMS_BINARY);
                unsigned char *der = NULL;
                int len = i2d_CMS_ContentInfo(cms, &der);
                g_autoptr(GBytes) b = g_bytes_new(der, (gsize) len);

                g_assert_cmpint(verify_sig(f, "x", 1, b, SERIAL, &reason), ==, -EBADMSG);
                g_assert_cmpstr(reason, ==, "signature is not a CMS SignedData");
                g_clear_pointer(&reason, free);
                OPENSSL_free(der);
                CMS_ContentInfo_free(cms);
                BIO_free(in);
        }
        /* Garbage and empty. */
        {
                g_autoptr(GBytes) junk = g_bytes_new_static("\x30\x80\x00\x00garbage", 11);
                g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
                g_assert_cmpint(verify_sig(f, manifest_text, strlen(manifest_text), junk, SERIAL, &reason), ==, -EBADMSG);
                g_clear_pointer(&reason, free);
                g_assert_cmpint(verify_sig(f, manifest_text, strlen(manifest_text), empty, SERIAL, &reason), ==, -EBADMSG);
                g_clear_pointer(&reason, free);
        }
        /* Single-byte corruptions all over the DER. Some break the digestAlgorithms
         * OID, so that CMS_dataInit() fails inside CMS_verify(): the OpenSSL leak
         * that verify.c steers around, which ASan and valgrind runs would catch. */
        for (size_t i = 0; i < size; i++) {
                g_autofree uint8_t *copy = g_memdup2(d, size);
                g_autoptr(GBytes) b = NULL;
                int r;

                copy[i] ^= 0x5A;
                b = g_bytes_new(copy, size);
                r = verify_sig(f, manifest_text, strlen(manifest_text), b, SERIAL, &reason);
                g_clear_pointer(&reason, free);
                /* A flip may land in a field that nothing signs and OpenSSL does not
                 * check (the SignedData and SignerInfo version numbers, the signature
                 * algorithm OID, which the key type decides anyway): accepted, and
                 * harmless, since the manifest bytes are still the signed ones. */
                g_assert_true(r == 0 || r == -EBADMSG || r == -EKEYREJECTED);
        }
}

/* ---- agreement with the stock tool ---- */

static int run_openssl(char **argv) {
        g_autoptr(GError) error = NULL;
        g_autofree char *out = NULL, *err = NULL;
        int status = 0;

        if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error))
                g_error("cannot run openssl: %s", error->message);
        return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

static void write_bytes(const char *path, const void *data, size_t len) {
        g_assert_true(g_file_set_contents(path, data, (gssize) len, NULL));
}

/* Both verdicts on one (manifest, p7s) pair; returns ours (0 ok, -1 rejected). */
static void expect_agreement(Fixture *f, const char *what, const char *content, size_t len, GBytes *p7s, bool ok) {
        g_autofree char *man_path = g_build_filename(f->dir, "x.man", NULL);
        g_autofree char *p7s_path = g_build_filename(f->dir, "x.p7s", NULL);
        g_autofree char *reason = NULL;
        char *argv[] = { "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", p7s_path,
                         "-content", man_path, "-CAfile", f->ca_path, "-purpose", "any",
                         "-out", "/dev/null", NULL };
        int ours, theirs;

        write_bytes(man_path, content, len);
        write_bytes(p7s_path, g_bytes_get_data(p7s, NULL), g_bytes_get_size(p7s));
        ours = verify_sig(f, content, len, p7s, SERIAL, &reason);
        theirs = run_openssl(argv);
        if ((ours == 0) != ok || (theirs == 0) != ok)
                g_error("%s: dockd %s (%s), openssl %s; expected %s", what, ours == 0 ? "accepts" : "rejects",
                        strna(reason), theirs == 0 ? "accepts" : "rejects", ok ? "accept" : "reject");
}

static void test_openssl_agrees(Fixture *f, gconstpointer data) {
        size_t len = strlen(manifest_text);
        X509 *expired = device_cert(f, &(CertSpec) { .not_before = -10 * DAY, .not_after = -DAY });
        X509 *future = device_cert(f, &(CertSpec) { .not_before = DAY, .not_after = 10 * DAY });
        X509 *other = device_cert(f, &(CertSpec) { .issuer = f->other_ca, .issuer_key = f->other_key });
        g_autoptr(GBytes) good = sign(f, manifest_text, len, &(SignSpec) {});
        g_autoptr(GBytes) text_mode = sign(f, manifest_text, len, &(SignSpec) { .text_mode = true });
        g_autoptr(GBytes) no_inter = sign(f, manifest_text, len, &(SignSpec) { .no_intermediate = true });
        g_autoptr(GBytes) p_expired = sign(f, manifest_text, len, &(SignSpec) { .signer = expired });
        g_autoptr(GBytes) p_future = sign(f, manifest_text, len, &(SignSpec) { .signer = future });
        g_autoptr(GBytes) p_other = sign(f, manifest_text, len, &(SignSpec) { .signer = other });
        g_autoptr(GBytes) bad_sig = sign(f, manifest_text, len, &(SignSpec) { .corrupt_signature = true });
        g_autofree char *tampered = g_strdup(manifest_text);

        tampered[strlen("format=1\ndevice_serial=BWC-000")] = '2';

        expect_agreement(f, "good", manifest_text, len, good, true);
        expect_agreement(f, "tampered manifest", tampered, len, good, false);
        expect_agreement(f, "truncated manifest", manifest_text, len - 1, good, false);
        expect_agreement(f, "text-mode signature", manifest_text, len, text_mode, false);
        expect_agreement(f, "intermediate missing", manifest_text, len, no_inter, false);
        expect_agreement(f, "expired signer", manifest_text, len, p_expired, false);
        expect_agreement(f, "signer not yet valid", manifest_text, len, p_future, false);
        expect_agreement(f, "other CA", manifest_text, len, p_other, false);
        expect_agreement(f, "signature value altered", manifest_text, len, bad_sig, false);

        /* A signature made by the stock tool, as a camera vendor would test with. */
        {
                g_autofree char *man_path = g_build_filename(f->dir, "cli.man", NULL);
                g_autofree char *p7s_path = g_build_filename(f->dir, "cli.p7s", NULL);
                g_autofree char *cert_path = g_build_filename(f->dir, "dev.pem", NULL);
                g_autofree char *key_path = g_build_filename(f->dir, "dev.key", NULL);
                g_autofree char *inter_path = g_build_filename(f->dir, "inter.pem", NULL);
                g_autofree char *p7s = NULL;
                gsize p7s_len = 0;
                X509 *dev = device_cert(f, NULL);
                BIO *bio;
                char *argv[] = { "openssl", "cms", "-sign", "-binary", "-md", "sha256", "-in", man_path,
                                 "-signer", cert_path, "-inkey", key_path, "-certfile", inter_path,
                                 "-outform", "DER", "-out", p7s_path, NULL };

                write_bytes(man_path, manifest_text, len);
                write_pem_certs(cert_path, &dev, 1);
                write_pem_certs(inter_path, &f->inter, 1);
                bio = BIO_new_file(key_path, "w");
                g_assert_true(PEM_write_bio_PrivateKey(bio, f->dev_key, NULL, NULL, 0, NULL, NULL));
                BIO_free(bio);
                g_assert_cmpint(run_openssl(argv), ==, 0);
                g_assert_cmpint(g_unlink(key_path), ==, 0);
                g_assert_true(g_file_get_contents(p7s_path, &p7s, &p7s_len, NULL));
                {
                        g_autoptr(GBytes) b = g_bytes_new(p7s, p7s_len);
                        expect_agreement(f, "signed by openssl cms -sign", manifest_text, len, b, true);
                        expect_agreement(f, "openssl signature, tampered", tampered, len, b, false);
                }
                X509_free(dev);
        }
        X509_free(expired);
        X509_free(future);
        X509_free(other);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
#define T(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        T("/verify/trust-store", test_trust_store);
        T("/verify/device-good", test_device_good);
        T("/verify/device-missing-intermediate", test_device_missing_intermediate);
        T("/verify/device-expired", test_device_expired);
        T("/verify/device-not-yet-valid", test_device_not_yet_valid);
        T("/verify/device-wrong-serial", test_device_wrong_serial);
        T("/verify/device-other-ca", test_device_other_ca);
        T("/verify/device-key", test_device_key);
        T("/verify/device-key-usage", test_device_key_usage);
        T("/verify/device-serial-attribute", test_device_serial_attribute);
        T("/verify/device-malformed", test_device_malformed);
        T("/verify/signature-good", test_signature_good);
        T("/verify/signature-tampered", test_signature_tampered);
        T("/verify/signature-binary", test_signature_binary);
        T("/verify/signature-serial", test_signature_serial);
        T("/verify/signature-validity", test_signature_validity);
        T("/verify/signature-untrusted", test_signature_untrusted);
        T("/verify/signature-key", test_signature_key);
        T("/verify/signature-structure", test_signature_structure);
        T("/verify/signature-malformed", test_signature_malformed);
        T("/verify/openssl-agrees", test_openssl_agrees);
        return g_test_run();
}
