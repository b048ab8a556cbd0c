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
} CertFault;

const char *cert_fault_to_string(CertFault f);

/* Load ca.pem + ca.key from dir, or create them there. */
Pki *pki_open(const char *dir, GError **error);
void pki_free(Pki *pki);
const char *pki_ca_path(const Pki *pki);

typedef struct {
        EVP_PKEY *key;
        X509 *cert;
        GBytes *cert_der;
} DeviceIdentity;

/* A device key (kept in the PKI dir per serial, so restarts reuse it) and a
 * fresh certificate that has the requested fault. */
DeviceIdentity *pki_device_identity(Pki *pki, const char *serial, const char *model,
                                    CertFault fault, GError **error);
void device_identity_free(DeviceIdentity *id);

/* Detached DER CMS SignedData over content (RFC 5652), signing time given. */
GBytes *pki_sign_detached(const DeviceIdentity *id, const void *content, size_t len,
                          gint64 signing_time, GError **error);
