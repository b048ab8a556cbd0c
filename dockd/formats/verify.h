/* SPDX-License-Identifier: Apache-2.0 */
/* verify.h: trust decisions about cameras and their recordings: the device
 * certificate chain (protocol §12.4) and the CMS signature over each manifest
 * (§12.3), against the agency's trust anchors, at the current time. OpenSSL only;
 * no logging above debug. Failures return -EKEYREJECTED (or -EBADMSG for
 * undecodable input) with a short human reason. */
#pragma once

#include "macro.h"

typedef struct TrustStore TrustStore;

/* Load every certificate of a PEM file as a trust anchor. */
int trust_store_load(const char *pem_path, TrustStore **ret, char **ret_error);
TrustStore *trust_store_free(TrustStore *ts);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustStore *, trust_store_free);

/* The device certificate (first) and intermediates from GetDeviceCertificates:
 * chain to an anchor, valid now, key usage digitalSignature, EC P-256 key, and
 * subject serialNumber equal to serial. */
int verify_device_certificates(TrustStore *ts, const uint8_t *const *der, const size_t *der_size,
                               size_t n, const char *serial, char **ret_reason);

/* A detached CMS SignedData (DER) over exactly the manifest bytes: signature
 * valid, signer certificate (from the SignedData) chains to an anchor and is
 * valid now, its subject serialNumber equals serial. */
int verify_manifest_signature(TrustStore *ts, const uint8_t *manifest, size_t manifest_size,
                              const uint8_t *p7s, size_t p7s_size, const char *serial,
                              char **ret_reason);
