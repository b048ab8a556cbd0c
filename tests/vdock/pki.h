/* pki.h: the test CA, device keys and certificates, and CMS signatures.
 * Everything is generated here at run time; no private key is committed. */
#pragma once
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct Pki Pki;

typedef enum {
        CERT_GOOD,
        CERT_UNKNOWN_CA,      /* issued by a CA nobody trusts */
        CERT_SERIAL_MISMATCH, /* subject serialNumber is not the device's */
        CERT_EXPIRED,         /* notAfter in the past */
        CERT_REVOKED,         /* good, but listed in the CA's CRL */
} CertFault;

const char *cert_fault_to_string(CertFault f);

/* Load ca.pem + ca.key from dir, or create them there; write an empty CRL
 * to dir/crl.pem (pki_crl_path). */
Pki *pki_open(const char *dir, GError **error);
void pki_free(Pki *pki);
const char *pki_ca_path(const Pki *pki);

typedef struct {
        EVP_PKEY *key;        /* the key the camera holds */
        X509 *cert;           /* the certificate it presents */
        GBytes *cert_der;
        X509 *signer_stub;    /* forged identities: a certificate of key that names
                               * cert's issuer and serial number, to sign CMS with */
} DeviceIdentity;

/* A device key (kept in the PKI dir per serial, so restarts reuse it) and a
 * fresh certificate that has the requested fault. */
DeviceIdentity *pki_device_identity(Pki *pki, const char *serial, const char *model,
                                    CertFault fault, GError **error);
void device_identity_free(DeviceIdentity *id);
/* The key kept for serial in the PKI dir (created on first use). */
EVP_PKEY *pki_device_key(Pki *pki, const char *serial, GError **error);
/* An impostor: genuine's certificate, but the key of key_serial. */
DeviceIdentity *pki_forged_identity(Pki *pki, X509 *genuine, const char *key_serial, GError **error);
/* ECDSA (P-256) signature with SHA-256 over msg, DER ECDSA-Sig-Value. */
GBytes *pki_sign_message(EVP_PKEY *key, const void *msg, size_t len, GError **error);

/* pki-crl.c: the CA's certificate revocation list. Revoking rewrites
 * pki_crl_path() atomically; pki_write_crl() writes it elsewhere too. */
void pki_revoke(Pki *pki, X509 *cert);
gboolean pki_is_revoked(Pki *pki, X509 *cert);
gboolean pki_write_crl(Pki *pki, const char *path, GError **error);
const char *pki_crl_path(const Pki *pki);
/* Internal to pki*.c: the CA. */
X509 *pki_ca_cert(Pki *pki);
EVP_PKEY *pki_ca_key(Pki *pki);
GPtrArray *pki_revoked(Pki *pki); /* ASN1_INTEGER* serial numbers */

/* Detached DER CMS SignedData over content (RFC 5652), signing time given. */
GBytes *pki_sign_detached(const DeviceIdentity *id, const void *content, size_t len,
                          gint64 signing_time, GError **error);
