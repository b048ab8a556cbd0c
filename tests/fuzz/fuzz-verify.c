/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the trust decisions (verify.h) with what a camera controls: a
 * CertificateList dataset (§8.3) for verify_device_certificates(), or a
 * manifest and its .p7s for verify_manifest_signature(). The anchor is a
 * committed CA certificate whose key was discarded when the seeds were made
 * (gen-corpus); only signatures made then can verify. Input: byte 0 even →
 * u16 LE manifest length, manifest, p7s; odd → CertificateList. */
#include <string.h>

#include "fuzz.h"
#include "ptp.h"
#include "verify.h"

#define SERIAL "BWC-0001"

static TrustStore *trust;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char *error = NULL;
        const char *path = getenv("FUZZ_ANCHOR") ?: FUZZ_ANCHOR;

        if (trust_store_load(path, &trust, &error) < 0) {
                fprintf(stderr, "fuzz-verify: cannot load the anchor: %s\n", error);
                abort();
        }
        return 0;
}

/* FUZZ_VERBOSE=1: print each outcome (to see which seeds reach which check). */
static void check_outcome(int r, char *reason) {
        if (getenv("FUZZ_VERBOSE"))
                fprintf(stderr, "fuzz-verify: %d %s\n", r, reason ?: "ok");
        if (r < 0) {
                fuzz_check(r == -EKEYREJECTED || r == -EBADMSG);
                fuzz_check(reason && *reason);
        } else
                fuzz_check(r == 0 && !reason);
        free(reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *reason = NULL;
        int r;

        if (size < 1)
                return 0;

        if (data[0] & 1) {
                PtpCertificate certs[PTP_MAX_CERTIFICATES];
                const uint8_t *der[PTP_MAX_CERTIFICATES];
                size_t sizes[PTP_MAX_CERTIFICATES], n;

                if (ptp_certificates_parse(data + 1, size - 1, certs, &n) < 0)
                        return 0;
                for (size_t i = 0; i < n; i++) {
                        der[i] = certs[i].der;
                        sizes[i] = certs[i].size;
                }
                r = verify_device_certificates(trust, der, sizes, n, SERIAL, &reason);
                check_outcome(r, reason);
        } else {
                size_t man_len;

                if (size < 3)
                        return 0;
                man_len = (size_t) (data[1] | data[2] << 8);
                if (man_len > size - 3)
                        man_len = size - 3;
                r = verify_manifest_signature(trust, data + 3, man_len, data + 3 + man_len,
                                              size - 3 - man_len, SERIAL, &reason);
                check_outcome(r, reason);
        }
        return 0;
}
