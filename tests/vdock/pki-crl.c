/* pki-crl.c: the test CA's certificate revocation list (pki.h): X.509 v2 CRL,
 * PEM, signed by the CA, thisUpdate now, nextUpdate in 7 days. */
#include "pki.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <unistd.h>

static gboolean crl_error(GError **error, const char *what)
{
        char buf[256];

        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", what, buf);
        return FALSE;
}

gboolean pki_is_revoked(Pki *pki, X509 *cert)
{
        const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
        GPtrArray *revoked = pki_revoked(pki);

        for (guint i = 0; i < revoked->len; i++)
                if (ASN1_INTEGER_cmp(revoked->pdata[i], sn) == 0)
                        return TRUE;
        return FALSE;
}

void pki_revoke(Pki *pki, X509 *cert)
{
        g_autoptr(GError) error = NULL;

        if (!cert || pki_is_revoked(pki, cert))
                return;
        g_ptr_array_add(pki_revoked(pki), ASN1_INTEGER_dup(X509_get0_serialNumber(cert)));
        if (!pki_write_crl(pki, pki_crl_path(pki), &error))
                g_warning("%s", error->message);
}

static X509_CRL *build_crl(Pki *pki)
{
        X509_CRL *crl = X509_CRL_new();
        ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
        ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 7 * 86400);
        GPtrArray *revoked = pki_revoked(pki);
        gboolean ok = crl && now && next && X509_CRL_set_version(crl, 1) &&
                      X509_CRL_set_issuer_name(crl, X509_get_subject_name(pki_ca_cert(pki))) &&
                      X509_CRL_set1_lastUpdate(crl, now) && X509_CRL_set1_nextUpdate(crl, next);

        for (guint i = 0; ok && i < revoked->len; i++) {
                X509_REVOKED *r = X509_REVOKED_new();
                ok = r && X509_REVOKED_set_serialNumber(r, revoked->pdata[i]) &&
                     X509_REVOKED_set_revocationDate(r, now) && X509_CRL_add0_revoked(crl, r);
                if (!ok)
                        X509_REVOKED_free(r);
        }
        if (ok) {
                X509_CRL_sort(crl);
                ok = X509_CRL_sign(crl, pki_ca_key(pki), EVP_sha256()) > 0;
        }
        ASN1_TIME_free(now);
        ASN1_TIME_free(next);
        if (!ok) {
                X509_CRL_free(crl);
                return NULL;
        }
        return crl;
}

/* Written to a temporary name and renamed: a reader sees the old or the new list. */
gboolean pki_write_crl(Pki *pki, const char *path, GError **error)
{
        g_autofree char *tmp = g_strdup_printf("%s.tmp-%d", path, (int) getpid());
        X509_CRL *crl = build_crl(pki);
        FILE *f;
        gboolean ok;

        if (!crl)
                return crl_error(error, "building the CRL");
        f = fopen(tmp, "we");
        if (!f) {
                X509_CRL_free(crl);
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", tmp, g_strerror(errno));
                return FALSE;
        }
        ok = PEM_write_X509_CRL(f, crl) == 1;
        ok = fclose(f) == 0 && ok;
        X509_CRL_free(crl);
        if (!ok) {
                unlink(tmp);
                return crl_error(error, path);
        }
        if (rename(tmp, path) < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path, g_strerror(errno));
                unlink(tmp);
                return FALSE;
        }
        return TRUE;
}
