/* pki.c: test CA, device certificates and detached CMS signatures (pki.h).
 * docs/camera-protocol.md §12.3 (CMS) and §12.4 (device certificate). */
#include "pki.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

struct Pki {
        char *dir;
        char *ca_path;
        EVP_PKEY *ca_key;
        X509 *ca_cert;
        EVP_PKEY *rogue_key; /* for CERT_UNKNOWN_CA, created on demand */
        X509 *rogue_cert;
        char *crl_path;
        GPtrArray *revoked;  /* ASN1_INTEGER* */
};

const char *cert_fault_to_string(CertFault f)
{
        static const char *const names[] = { "none", "unknown-ca", "serial-mismatch", "expired", "revoked" };
        return f <= CERT_REVOKED ? names[f] : "?";
}

static gboolean ssl_error(GError **error, const char *what)
{
        char buf[256];

        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", what, buf);
        return FALSE;
}

static EVP_PKEY *new_p256_key(void)
{
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
        X509V3_CTX ctx;
        X509_EXTENSION *ext;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (ext) {
                X509_add_ext(cert, ext, -1);
                X509_EXTENSION_free(ext);
        }
}

static X509 *make_cert(X509_NAME *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       time_t not_before, time_t not_after, gboolean is_ca)
{
        X509 *cert = X509_new();
        ASN1_INTEGER *sn = X509_get_serialNumber(cert);

        X509_set_version(cert, 2);
        ASN1_INTEGER_set_uint64(sn, g_random_int() | ((uint64_t) g_random_int() << 31));
        X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &not_before);
        X509_time_adj_ex(X509_getm_notAfter(cert), 0, 0, &not_after);
        X509_set_subject_name(cert, subject);
        X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : subject);
        X509_set_pubkey(cert, key);
        add_ext(cert, issuer ? issuer : cert, NID_subject_key_identifier, "hash");
        add_ext(cert, issuer ? issuer : cert, NID_authority_key_identifier, "keyid:always");
        if (is_ca) {
                add_ext(cert, issuer ? issuer : cert, NID_basic_constraints, "critical,CA:TRUE");
                add_ext(cert, issuer ? issuer : cert, NID_key_usage, "critical,keyCertSign,cRLSign");
        } else {
                add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
                add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature");
        }
        if (!X509_sign(cert, issuer_key, EVP_sha256())) {
                X509_free(cert);
                return NULL;
        }
        return cert;
}

static X509 *make_ca(EVP_PKEY *key, const char *cn)
{
        X509_NAME *name = X509_NAME_new();
        time_t now = time(NULL);
        X509 *cert;

        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *) "vdock test PKI", -1, -1, 0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0);
        cert = make_cert(name, key, NULL, key, now - 86400, now + 20 * 365 * 86400L, TRUE);
        X509_NAME_free(name);
        return cert;
}

static gboolean write_pem(const char *path, X509 *cert, EVP_PKEY *key, GError **error)
{
        FILE *f = fopen(path, "we");
        gboolean ok;

        if (!f) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path, g_strerror(errno));
                return FALSE;
        }
        if (key)
                fchmod(fileno(f), 0600);
        ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
        ok = (fclose(f) == 0) && ok;
        return ok ? TRUE : ssl_error(error, path);
}

static gboolean load_pem(const char *cert_path, const char *key_path, X509 **ret_cert, EVP_PKEY **ret_key)
{
        FILE *f;

        if (cert_path) {
                f = fopen(cert_path, "re");
                if (!f)
                        return FALSE;
                *ret_cert = PEM_read_X509(f, NULL, NULL, NULL);
                fclose(f);
                if (!*ret_cert)
                        return FALSE;
        }
        f = fopen(key_path, "re");
        if (!f)
                return FALSE;
        *ret_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        return *ret_key != NULL;
}

Pki *pki_open(const char *dir, GError **error)
{
        Pki *pki = g_new0(Pki, 1);
        g_autofree char *key_path = g_build_filename(dir, "ca.key", NULL);

        pki->dir = g_strdup(dir);
        pki->ca_path = g_build_filename(dir, "ca.pem", NULL);
        pki->crl_path = g_build_filename(dir, "crl.pem", NULL);
        pki->revoked = g_ptr_array_new_with_free_func((GDestroyNotify) ASN1_INTEGER_free);
        if (g_mkdir_with_parents(dir, 0700) < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", dir, g_strerror(errno));
                pki_free(pki);
                return NULL;
        }
        if (!load_pem(pki->ca_path, key_path, &pki->ca_cert, &pki->ca_key)) {
                g_clear_pointer(&pki->ca_cert, X509_free);
                g_clear_pointer(&pki->ca_key, EVP_PKEY_free);
                pki->ca_key = new_p256_key();
                pki->ca_cert = pki->ca_key ? make_ca(pki->ca_key, "vdock test agency CA") : NULL;
                if (!pki->ca_cert || !write_pem(key_path, NULL, pki->ca_key, error) ||
                    !write_pem(pki->ca_path, pki->ca_cert, NULL, error)) {
                        if (error && !*error)
                                ssl_error(error, "creating the test CA");
                        pki_free(pki);
                        return NULL;
                }
        }
        if (!pki_write_crl(pki, pki->crl_path, error)) {
                pki_free(pki);
                return NULL;
        }
        return pki;
}

void pki_free(Pki *pki)
{
        if (!pki)
                return;
        X509_free(pki->ca_cert);
        EVP_PKEY_free(pki->ca_key);
        X509_free(pki->rogue_cert);
        EVP_PKEY_free(pki->rogue_key);
        if (pki->revoked)
                g_ptr_array_unref(pki->revoked);
        g_free(pki->crl_path);
        g_free(pki->ca_path);
        g_free(pki->dir);
        g_free(pki);
}

const char *pki_ca_path(const Pki *pki)
{
        return pki->ca_path;
}

const char *pki_crl_path(const Pki *pki)
{
        return pki->crl_path;
}

X509 *pki_ca_cert(Pki *pki) { return pki->ca_cert; }
EVP_PKEY *pki_ca_key(Pki *pki) { return pki->ca_key; }
GPtrArray *pki_revoked(Pki *pki) { return pki->revoked; }

EVP_PKEY *pki_device_key(Pki *pki, const char *serial, GError **error)
{
        g_autofree char *name = g_strdup_printf("device-%s.key", serial);
        g_autofree char *path = g_build_filename(pki->dir, name, NULL);
        EVP_PKEY *key = NULL;

        if (load_pem(NULL, path, NULL, &key))
                return key;
        key = new_p256_key();
        if (!key || !write_pem(path, NULL, key, error)) {
                EVP_PKEY_free(key);
                return NULL;
        }
        return key;
}

static gboolean ensure_rogue_ca(Pki *pki)
{
        g_autofree char *path = NULL;

        if (pki->rogue_cert)
                return TRUE;
        pki->rogue_key = new_p256_key();
        pki->rogue_cert = pki->rogue_key ? make_ca(pki->rogue_key, "vdock rogue CA (untrusted)") : NULL;
        if (!pki->rogue_cert)
                return FALSE;
        path = g_build_filename(pki->dir, "rogue-ca.pem", NULL);
        return write_pem(path, pki->rogue_cert, NULL, NULL);
}

DeviceIdentity *pki_device_identity(Pki *pki, const char *serial, const char *model,
                                    CertFault fault, GError **error)
{
        DeviceIdentity *id = g_new0(DeviceIdentity, 1);
        X509_NAME *name = X509_NAME_new();
        g_autofree char *cn = g_strdup_printf("%s %s", model, serial);
        const char *subject_serial = fault == CERT_SERIAL_MISMATCH ? "BWC-IMPOSTOR" : serial;
        time_t now = time(NULL), nb = now - 30 * 86400L, na = now + 10 * 365 * 86400L;
        X509 *issuer = pki->ca_cert;
        EVP_PKEY *issuer_key = pki->ca_key;
        unsigned char *der = NULL;
        int len;

        id->key = pki_device_key(pki, serial, error);
        if (fault == CERT_EXPIRED) {
                nb = now - 3 * 365 * 86400L;
                na = now - 365 * 86400L;
        }
        if (fault == CERT_UNKNOWN_CA && ensure_rogue_ca(pki)) {
                issuer = pki->rogue_cert;
                issuer_key = pki->rogue_key;
        }
        X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_UTF8, (const unsigned char *) subject_serial, -1, -1, 0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0);
        if (id->key)
                id->cert = make_cert(name, id->key, issuer, issuer_key, nb, na, FALSE);
        X509_NAME_free(name);
        if (!id->cert || (len = i2d_X509(id->cert, &der)) <= 0) {
                if (error && !*error)
                        ssl_error(error, "device certificate");
                device_identity_free(id);
                return NULL;
        }
        id->cert_der = g_bytes_new(der, len);
        OPENSSL_free(der);
        return id;
}

void device_identity_free(DeviceIdentity *id)
{
        if (!id)
                return;
        EVP_PKEY_free(id->key);
        X509_free(id->cert);
        X509_free(id->signer_stub);
        if (id->cert_der)
                g_bytes_unref(id->cert_der);
        g_free(id);
}

static gboolean max_length_signature(CMS_ContentInfo *cms)
{
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
        ASN1_OCTET_STRING *sig = si ? CMS_SignerInfo_get0_signature(si) : NULL;

        return sig && ASN1_STRING_length(sig) == 72;
}

static GBytes *sign_once(const DeviceIdentity *id, const void *content, size_t len, gint64 signing_time,
                         gboolean *ret_max)
{
        const int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
        CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
        BIO *in = BIO_new_mem_buf(content, (int) len);
        /* A forged identity signs under a stub naming the stolen certificate's
         * issuer and serial, and ships the stolen certificate itself. */
        CMS_SignerInfo *si = !cms ? NULL : id->signer_stub
                ? CMS_add1_signer(cms, id->signer_stub, id->key, EVP_sha256(), CMS_BINARY | CMS_NOCERTS)
                : CMS_add1_signer(cms, id->cert, id->key, EVP_sha256(), CMS_BINARY);
        ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t) signing_time);
        unsigned char *der = NULL;
        GBytes *out = NULL;
        int n;

        /* §12.3: content-type and message-digest are added by CMS_final;
         * signing-time is ours (the segment's end) so it is reproducible. */
        if (si && id->signer_stub && !CMS_add1_cert(cms, id->cert))
                si = NULL;
        if (si && t && CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type, t, -1) &&
            CMS_final(cms, in, NULL, flags & ~CMS_PARTIAL) && (n = i2d_CMS_ContentInfo(cms, &der)) > 0) {
                out = g_bytes_new(der, n);
                OPENSSL_free(der);
                *ret_max = max_length_signature(cms);
        }
        ASN1_TIME_free(t);
        BIO_free(in);
        CMS_ContentInfo_free(cms);
        return out;
}

/* An ECDSA signature's DER length varies (r and s are 32 or 33 bytes). We
 * sign until both are 33 bytes (p = 1/4 a try), so every .p7s of a camera
 * has the same size and ObjectInfo can announce it without hashing the video. */
GBytes *pki_sign_detached(const DeviceIdentity *id, const void *content, size_t len,
                          gint64 signing_time, GError **error)
{
        for (int tries = 0; tries < 200; tries++) {
                gboolean max = FALSE;
                GBytes *out = sign_once(id, content, len, signing_time, &max);

                if (!out) {
                        ssl_error(error, "CMS signing");
                        return NULL;
                }
                if (max)
                        return out;
                g_bytes_unref(out);
        }
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "CMS signing: no full-length signature");
        return NULL;
}

DeviceIdentity *pki_forged_identity(Pki *pki, X509 *genuine, const char *key_serial, GError **error)
{
        DeviceIdentity *id = g_new0(DeviceIdentity, 1);
        unsigned char *der = NULL;
        int len;

        id->key = pki_device_key(pki, key_serial, error);
        id->cert = X509_dup(genuine);
        id->signer_stub = X509_new();
        if (!id->key || !id->cert || !id->signer_stub ||
            !X509_set_issuer_name(id->signer_stub, X509_get_issuer_name(genuine)) ||
            !X509_set_subject_name(id->signer_stub, X509_get_subject_name(genuine)) ||
            !X509_set_serialNumber(id->signer_stub, X509_get_serialNumber(genuine)) ||
            !X509_set_pubkey(id->signer_stub, id->key) || !X509_sign(id->signer_stub, id->key, EVP_sha256()) ||
            (len = i2d_X509(id->cert, &der)) <= 0) {
                if (error && !*error)
                        ssl_error(error, "forged identity");
                device_identity_free(id);
                return NULL;
        }
        id->cert_der = g_bytes_new(der, len);
        OPENSSL_free(der);
        return id;
}

GBytes *pki_sign_message(EVP_PKEY *key, const void *msg, size_t len, GError **error)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        size_t n = 0;
        guint8 *sig = NULL;
        GBytes *out = NULL;

        if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestSign(ctx, NULL, &n, msg, len) == 1) {
                sig = g_malloc(n);
                if (EVP_DigestSign(ctx, sig, &n, msg, len) == 1)
                        out = g_bytes_new_take(g_steal_pointer(&sig), n);
        }
        g_free(sig);
        EVP_MD_CTX_free(ctx);
        if (!out)
                ssl_error(error, "signing");
        return out;
}
