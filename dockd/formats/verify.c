/* SPDX-License-Identifier: Apache-2.0 */
/* verify.c: whether a camera and its recordings can be trusted (protocol §12.3,
 * §12.4), with OpenSSL 3: chains built by X509_verify_cert() to the configured
 * anchors at the current time, CMS_verify() over the exact manifest bytes. The
 * answer is a short reason a person can act on; the OpenSSL error queue is
 * cleared on the way out and nothing is printed. */
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdarg.h>

#include "fileio.h"
#include "manifest.h"
#include "openssl-util.h"
#include "ptp.h"
#include "verify.h"

#define TRUST_STORE_MAX_SIZE (4 * 1024 * 1024)
/* A .p7s is a few KiB (§12.3): one SignerInfo and at most PTP_MAX_CERTIFICATES
 * certificates of 16 KiB each. Anything far larger is not worth decoding. */
#define P7S_MAX_SIZE (256 * 1024)
#define CERTIFICATE_MAX_SIZE 16384

struct TrustStore {
        X509_STORE *store;
};

static void x509_info_stack_freep(STACK_OF(X509_INFO) **sk) {
        sk_X509_INFO_pop_free(*sk, X509_INFO_free);
}

static void openssl_free_charp(unsigned char **p) {
        OPENSSL_free(*p);
}

/* Clear the OpenSSL error queue and set a reason; returns r. */
_printf_(3, 4)
static int fail(int r, char **ret_reason, const char *fmt, ...) {
        va_list ap;

        ERR_clear_error();
        if (ret_reason) {
                char *s;
                int k;

                va_start(ap, fmt);
                k = vasprintf(&s, fmt, ap);
                va_end(ap);
                if (k < 0)
                        return -ENOMEM;
                *ret_reason = s;
        }
        return r;
}

static int oom(void) {
        ERR_clear_error();
        return -ENOMEM;
}

TrustStore *trust_store_free(TrustStore *ts) {
        if (!ts)
                return NULL;
        X509_STORE_free(ts->store);
        free(ts);
        return NULL;
}

int trust_store_load(const char *pem_path, TrustStore **ret, char **ret_error) {
        _cleanup_(x509_info_stack_freep) STACK_OF(X509_INFO) *infos = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        _cleanup_free_ char *pem = NULL;
        size_t size = 0, n = 0;
        TrustStore *ts;
        int k;

        if (!pem_path || !ret)
                return -EINVAL;
        ERR_clear_error();

        k = read_full_file(pem_path, TRUST_STORE_MAX_SIZE, &pem, &size);
        if (k < 0)
                return fail(k, ret_error, "%s: %s", pem_path, strerror(-k));

        /* The same reader as "openssl … -CAfile": CERTIFICATE and TRUSTED CERTIFICATE
         * blocks; other PEM blocks (CRLs, keys) are not anchors and are skipped. */
        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return oom();
        infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
        if (!infos)
                return fail(-EBADMSG, ret_error, "%s: not a PEM certificate bundle", pem_path);

        store = X509_STORE_new();
        if (!store)
                return oom();
        for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
                X509_INFO *info = sk_X509_INFO_value(infos, i);

                if (!info->x509)
                        continue;
                if (!X509_STORE_add_cert(store, info->x509))
                        return fail(-EBADMSG, ret_error, "%s: certificate %d cannot be added", pem_path, i + 1);
                n++;
        }
        if (n == 0)
                return fail(-EBADMSG, ret_error, "%s: no certificates", pem_path);

        ts = calloc(1, sizeof(TrustStore));
        if (!ts)
                return oom();
        ts->store = TAKE_PTR(store);
        *ret = ts;
        ERR_clear_error();
        return 0;
}

/* ---- checks on the device (signer) certificate, §12.4 ---- */

static bool key_is_p256(X509 *x) {
        EVP_PKEY *pkey = X509_get0_pubkey(x);
        char group[64];
        size_t len = 0;

        if (!pkey || !EVP_PKEY_is_a(pkey, "EC"))
                return false;
        if (!EVP_PKEY_get_group_name(pkey, group, sizeof group, &len))
                return false;
        return OBJ_sn2nid(group) == NID_X9_62_prime256v1 || EC_curve_nist2nid(group) == NID_X9_62_prime256v1;
}

/* The one serialNumber (2.5.4.5) of the subject, as UTF-8 without NULs. */
static int subject_serial(X509 *x, char **ret) {
        const X509_NAME *name = X509_get_subject_name(x);
        _cleanup_(openssl_free_charp) unsigned char *utf8 = NULL;
        const X509_NAME_ENTRY *e;
        int i, len;
        char *s;

        if (!name)
                return -ENOENT;
        i = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
        if (i < 0)
                return -ENOENT;
        if (X509_NAME_get_index_by_NID(name, NID_serialNumber, i) >= 0)
                return -ENOTUNIQ;
        e = X509_NAME_get_entry(name, i);
        len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (len < 0)
                return -EBADMSG;
        if (memchr(utf8, 0, (size_t) len))
                return -EBADMSG;
        s = strndup((const char *) utf8, (size_t) len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* The device certificate's own requirements, once its chain is trusted. */
static int check_device_certificate(X509 *x, const char *serial, char **ret_reason) {
        _cleanup_free_ char *cert_serial = NULL;
        int k;

        if (!key_is_p256(x))
                return fail(-EKEYREJECTED, ret_reason, "certificate key is not ECDSA P-256");
        /* UINT32_MAX when there is no keyUsage extension: then any use is allowed. */
        if (!(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE))
                return fail(-EKEYREJECTED, ret_reason, "certificate key usage does not allow digital signatures");

        k = subject_serial(x, &cert_serial);
        if (k == -ENOMEM)
                return oom();
        if (k == -ENOENT)
                return fail(-EKEYREJECTED, ret_reason, "certificate subject has no serialNumber");
        if (k == -ENOTUNIQ)
                return fail(-EKEYREJECTED, ret_reason, "certificate subject has more than one serialNumber");
        if (k < 0)
                return fail(-EKEYREJECTED, ret_reason, "certificate serialNumber is not a string");
        if (!streq_ptr(cert_serial, serial)) {
                /* Quote the certificate's serial only if it is one: it is the camera's text. */
                if (serial_is_valid(cert_serial) && serial_is_valid(serial))
                        return fail(-EKEYREJECTED, ret_reason, "certificate serial %s does not match camera %s",
                                    cert_serial, serial);
                return fail(-EKEYREJECTED, ret_reason, "certificate serial does not match camera %s",
                            serial_is_valid(serial) ? serial : "(invalid serial)");
        }
        return 0;
}

/* Build and check the chain of leaf to an anchor, now. */
static int verify_chain(TrustStore *ts, X509 *leaf, STACK_OF(X509) *untrusted, char **ret_reason) {
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        int err, depth;

        ctx = X509_STORE_CTX_new();
        if (!ctx)
                return oom();
        if (!X509_STORE_CTX_init(ctx, ts->store, leaf, untrusted))
                return oom();
        /* Any purpose, as "openssl cms -verify -purpose any" (§12.3): the device
         * certificate's own constraints are checked by check_device_certificate(). */
        if (!X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY))
                return oom();
        if (X509_verify_cert(ctx) == 1)
                return 0;

        err = X509_STORE_CTX_get_error(ctx);
        depth = X509_STORE_CTX_get_error_depth(ctx);
        switch (err) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
                return fail(-EKEYREJECTED, ret_reason, depth > 0 ? "CA certificate expired" : "certificate expired");
        case X509_V_ERR_CERT_NOT_YET_VALID:
                return fail(-EKEYREJECTED, ret_reason,
                            depth > 0 ? "CA certificate not yet valid" : "certificate not yet valid");
        default:
                return fail(-EKEYREJECTED, ret_reason, "certificate not trusted: %s",
                            X509_verify_cert_error_string(err));
        }
}

/* The device certificate cert is trusted (its chain) and is this camera's. */
static int verify_device(TrustStore *ts, X509 *cert, STACK_OF(X509) *untrusted, const char *serial,
                         char **ret_reason) {
        int k = verify_chain(ts, cert, untrusted, ret_reason);

        if (k < 0)
                return k;
        return check_device_certificate(cert, serial, ret_reason);
}

static int x509_from_der(const uint8_t *der, size_t size, X509 **ret) {
        const unsigned char *p = der;
        X509 *x;

        if (!der || size == 0 || size > CERTIFICATE_MAX_SIZE)
                return -EBADMSG;
        x = d2i_X509(NULL, &p, (long) size);
        if (!x)
                return -EBADMSG;
        if (p != der + size) {
                X509_free(x);
                return -EBADMSG;    /* trailing bytes */
        }
        *ret = x;
        return 0;
}

int verify_device_certificates(TrustStore *ts, const uint8_t *const *der, const size_t *der_size,
                               size_t n, const char *serial, char **ret_reason) {
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *untrusted = NULL;
        _cleanup_(X509_freep) X509 *leaf = NULL;
        int k;

        if (!ts || !serial || (n > 0 && (!der || !der_size)))
                return -EINVAL;
        ERR_clear_error();
        if (n == 0 || n > PTP_MAX_CERTIFICATES)
                return fail(-EBADMSG, ret_reason, "camera sent %zu certificates", n);

        if (x509_from_der(der[0], der_size[0], &leaf) < 0)
                return fail(-EBADMSG, ret_reason, "device certificate is not DER X.509");
        untrusted = sk_X509_new_null();
        if (!untrusted)
                return oom();
        for (size_t i = 1; i < n; i++) {
                X509 *x;

                if (x509_from_der(der[i], der_size[i], &x) < 0)
                        return fail(-EBADMSG, ret_reason, "certificate %zu is not DER X.509", i + 1);
                if (!sk_X509_push(untrusted, x)) {
                        X509_free(x);
                        return oom();
                }
        }

        k = verify_device(ts, leaf, untrusted, serial, ret_reason);
        if (k < 0)
                return k;
        ERR_clear_error();
        return 0;
}

/* ---- the manifest signature, §12.3 ---- */

/* The certificate in the SignedData that the one SignerInfo names. */
static X509 *find_signer(CMS_SignerInfo *si, STACK_OF(X509) *certs) {
        for (int i = 0; i < sk_X509_num(certs); i++) {
                X509 *x = sk_X509_value(certs, i);
                if (CMS_SignerInfo_cert_cmp(si, x) == 0)
                        return x;
        }
        return NULL;
}

/* The manifest bytes as CMS_verify()'s detached content. Not a bare memory BIO:
 * for those, OpenSSL 3.0 up to at least 3.0.19 copies the BIO and leaks the copy
 * when CMS_dataInit() fails (e.g. an empty digestAlgorithms set), which a camera
 * could trigger at will (openssl/openssl#30471). A null filter in front keeps
 * CMS_verify() off that path and passes the bytes through unchanged. */
static BIO *content_bio_new(const uint8_t *data, size_t size) {
        BIO *mem, *filter;

        mem = BIO_new_mem_buf(data ?: (const uint8_t *) "", (int) size);
        if (!mem)
                return NULL;
        filter = BIO_new(BIO_f_null());
        if (!filter) {
                BIO_free(mem);
                return NULL;
        }
        return BIO_push(filter, mem);
}

int verify_manifest_signature(TrustStore *ts, const uint8_t *manifest, size_t manifest_size,
                              const uint8_t *p7s, size_t p7s_size, const char *serial,
                              char **ret_reason) {
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        _cleanup_(sk_X509_pop_freep) STACK_OF(X509) *certs = NULL;
        _cleanup_(BIO_free_allp) BIO *content = NULL;
        STACK_OF(CMS_SignerInfo) *signers;
        const ASN1_OBJECT *econtent_type;
        const unsigned char *p = p7s;
        X509_ALGOR *digest_alg = NULL;
        CMS_SignerInfo *si;
        X509 *signer;
        int k;

        if (!ts || !serial || (!manifest && manifest_size > 0) || manifest_size > INT_MAX)
                return -EINVAL;
        ERR_clear_error();

        /* Structure: one DER SignedData, detached, over id-data, one SignerInfo with SHA-256. */
        if (!p7s || p7s_size == 0 || p7s_size > P7S_MAX_SIZE)
                return fail(-EBADMSG, ret_reason, "signature is not a CMS structure");
        cms = d2i_CMS_ContentInfo(NULL, &p, (long) p7s_size);
        if (!cms)
                return fail(-EBADMSG, ret_reason, "signature is not a CMS structure");
        if (p != p7s + p7s_size)
                return fail(-EBADMSG, ret_reason, "signature has trailing bytes");
        if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
                return fail(-EBADMSG, ret_reason, "signature is not a CMS SignedData");
        if (CMS_is_detached(cms) != 1)
                return fail(-EKEYREJECTED, ret_reason, "signature is not detached");
        econtent_type = CMS_get0_eContentType(cms);
        if (!econtent_type || OBJ_obj2nid(econtent_type) != NID_pkcs7_data)
                return fail(-EKEYREJECTED, ret_reason, "signature is not over data");
        signers = CMS_get0_SignerInfos(cms);
        if (sk_CMS_SignerInfo_num(signers) != 1)
                return fail(-EKEYREJECTED, ret_reason, "signature has %d signers, not one",
                            MAX(sk_CMS_SignerInfo_num(signers), 0));
        si = sk_CMS_SignerInfo_value(signers, 0);
        CMS_SignerInfo_get0_algs(si, NULL, NULL, &digest_alg, NULL);
        if (!digest_alg || OBJ_obj2nid(digest_alg->algorithm) != NID_sha256)
                return fail(-EKEYREJECTED, ret_reason, "signature digest is not SHA-256");

        /* Signer: from the SignedData only, chained to the anchors now, and the device's. */
        certs = CMS_get1_certs(cms);
        signer = certs ? find_signer(si, certs) : NULL;
        if (!signer)
                return fail(-EKEYREJECTED, ret_reason, "signature does not carry the signer's certificate");
        k = verify_device(ts, signer, certs, serial, ret_reason);
        if (k < 0)
                return k;

        /* The signature over exactly these bytes: CMS_BINARY, no MIME canonicalisation.
         * The chain was checked above, with reasons; CMS_verify() checks digest and
         * signature and finds the same signer certificate in the SignedData. */
        content = content_bio_new(manifest, manifest_size);
        if (!content)
                return oom();
        if (CMS_verify(cms, NULL, ts->store, content, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1)
                return fail(-EKEYREJECTED, ret_reason, "signature does not match the manifest");

        ERR_clear_error();
        return 0;
}
