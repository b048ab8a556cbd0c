/* SPDX-License-Identifier: Apache-2.0 */
/* custody-dock-cert.c: the dock's certificate for its custody key
 * (dir/dock-cert.pem, protocol §12.6), made once and kept while the key is the
 * same, and the detached signature the dock seals a camera's manifest with.
 * The key never leaves the custody log. */
#include <openssl/pem.h>

#include "custody-files.h"
#include "fileio.h"
#include "openssl-util.h"
#include "seal.h"

#define CUSTODY_CERT_MAX (16 * 1024)

static int cert_from_pem(const char *data, size_t size, X509 **ret) {
        _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(data, (int) size);
        X509 *x;

        if (!b || size > INT_MAX)
                return -ENOMEM;
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x)
                return -EBADMSG;
        *ret = x;
        return 0;
}

static int cert_to_pem(X509 *x, char **ret, size_t *ret_size) {
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        char *data;
        long n;

        if (!b)
                return -ENOMEM;
        if (PEM_write_bio_X509(b, x) != 1)
                return -EIO;
        n = BIO_get_mem_data(b, &data);
        if (n <= 0)
                return -EIO;
        *ret = memdup(data, (size_t) n);
        if (!*ret)
                return -ENOMEM;
        *ret_size = (size_t) n;
        return 0;
}

/* Does x certify this key for this dock (serialNumber = the dock's name)? */
static bool cert_matches(X509 *x, const CustodyLog *l) {
        X509_NAME *name = X509_get_subject_name(x);
        int i = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
        ASN1_STRING *v;

        if (EVP_PKEY_eq(X509_get0_pubkey(x), l->key) != 1 || i < 0)
                return false;
        v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        return (size_t) ASN1_STRING_length(v) == strlen(l->dock) &&
               memcmp(ASN1_STRING_get0_data(v), l->dock, strlen(l->dock)) == 0;
}

static int cert_create(CustodyLog *l) {
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = seal_dock_certificate(l->key, l->dock, time(NULL), &x);
        if (r < 0)
                return r;
        r = cert_to_pem(x, &data, &size);
        if (r < 0)
                return r;
        r = write_file_atomic(l->certificate_path, data, size, 0644);
        if (r < 0)
                return r;
        l->certificate = TAKE_PTR(x);
        return 0;
}

int custody_dock_certificate_setup(CustodyLog *l) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(X509_freep) X509 *x = NULL;
        size_t size;
        int r;

        l->certificate_path = path_join(l->dir, CUSTODY_CERTIFICATE);
        if (!l->certificate_path)
                return -ENOMEM;
        r = read_full_file(l->certificate_path, CUSTODY_CERT_MAX, &data, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        /* Kept while it certifies this key for this dock; a new key, a renamed
         * dock or a damaged file gets a new one (central storage keeps the old). */
        if (r >= 0 && cert_from_pem(data, size, &x) >= 0 && cert_matches(x, l)) {
                l->certificate = TAKE_PTR(x);
                return 0;
        }
        return cert_create(l);
}

const char *custody_log_certificate_path(CustodyLog *l) {
        return l ? l->certificate_path : NULL;
}

int custody_log_seal_sign(CustodyLog *l, const uint8_t *manifest, size_t size, uint8_t **ret, size_t *ret_size) {
        if (!l || !l->certificate)
                return -EINVAL;
        return seal_sign(l->key, l->certificate, manifest, size, ret, ret_size);
}
