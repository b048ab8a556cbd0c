/* SPDX-License-Identifier: Apache-2.0 */
/* crl.h: the certificate revocation lists of [dock] crl: one file (PEM, one or
 * more X509 CRL blocks, or DER) or a directory of such files. Reloaded when what
 * the files' metadata says changes (a file rewritten, added or removed), so that
 * a revocation takes effect without a restart. No logging above debug. */
#pragma once

#include <openssl/x509.h>

#include "macro.h"

typedef struct CrlSet CrlSet;

/* Load path now: -ENOENT, -EBADMSG (with a reason) when it cannot be read. */
int crl_set_new(const char *path, CrlSet **ret, char **ret_error);
CrlSet *crl_set_free(CrlSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(CrlSet *, crl_set_free);

/* Reload if the files changed. On a failed reload the last good lists stay in
 * force and the error is returned (once per change). */
int crl_set_refresh(CrlSet *s, char **ret_error);
/* The lists in force (borrowed, never NULL). */
STACK_OF(X509_CRL) *crl_set_current(CrlSet *s);
