/* SPDX-License-Identifier: Apache-2.0 */
/* challenge.c: see challenge.h. ECDSA P-256 with SHA-256 over M, the signature
 * DER-encoded (RFC 3279), verified with EVP_DigestVerify: the only algorithm of
 * protocol 1.x; any other SignatureAlgorithm value is refused. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "challenge.h"
#include "openssl-util.h"

#define SIGNATURE_ALGORITHM_ECDSA_P256_SHA256 1

int challenge_message(const uint8_t nonce[CHALLENGE_NONCE_SIZE], const char *serial, uint8_t *buf, size_t size) {
        size_t p = sizeof CHALLENGE_PREFIX, n = strlen(serial);   /* the prefix and its NUL */

        if (n > 255 || size < p + CHALLENGE_NONCE_SIZE + 1 + n)
                return -EINVAL;
        memcpy(buf, CHALLENGE_PREFIX, p);
        memcpy(buf + p, nonce, CHALLENGE_NONCE_SIZE);
        p += CHALLENGE_NONCE_SIZE;
        buf[p++] = (uint8_t) n;
        memcpy(buf + p, serial, n);
        return (int) (p + n);
}

static int reason(int r, char **ret_reason, const char *text) {
        ERR_clear_error();
        if (ret_reason)
                *ret_reason = strdup(text);
        return r;
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

int challenge_verify(const uint8_t *cert, size_t cert_size, const uint8_t nonce[CHALLENGE_NONCE_SIZE],
                     const char *serial, const uint8_t *dataset, size_t dataset_size, char **ret_reason) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = NULL;
        _cleanup_(X509_freep) X509 *x = NULL;
        const unsigned char *p = cert;
        uint8_t m[sizeof CHALLENGE_PREFIX + CHALLENGE_NONCE_SIZE + 1 + 255];
        uint32_t sig_len;
        int n;

        if (dataset_size < 8 || dataset_size > CHALLENGE_DATASET_MAX)
                return reason(-EBADMSG, ret_reason, "challenge answer has a wrong size");
        sig_len = le32(dataset + 4);
        if ((dataset[0] | dataset[1] << 8) != 1 || sig_len == 0 || sig_len != dataset_size - 8)
                return reason(-EBADMSG, ret_reason, "challenge answer is malformed");
        if ((dataset[2] | dataset[3] << 8) != SIGNATURE_ALGORITHM_ECDSA_P256_SHA256)
                return reason(-EKEYREJECTED, ret_reason, "challenge answer uses an unknown signature algorithm");
        n = challenge_message(nonce, serial, m, sizeof m);
        if (n < 0)
                return reason(-EINVAL, ret_reason, "serial too long for a challenge");
        x = d2i_X509(NULL, &p, (long) cert_size);
        if (!x)
                return reason(-EBADMSG, ret_reason, "device certificate is not DER X.509");
        md = EVP_MD_CTX_new();
        if (!md)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(x)) != 1 ||
            EVP_DigestVerify(md, dataset + 8, sig_len, m, (size_t) n) != 1)
                return reason(-EKEYREJECTED, ret_reason, "challenge signature does not verify with the certificate's key");
        ERR_clear_error();
        return 0;
}
