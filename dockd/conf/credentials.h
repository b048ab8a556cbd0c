/* SPDX-License-Identifier: Apache-2.0 */
/* credentials.h: secrets for central storage, read from a file that only dockd
 * may read: S3 access keys ("access_key_id=" / "secret_access_key=" lines) or
 * extra HTTP header lines (tus, webhooks). A relative name is looked up in
 * $CREDENTIALS_DIRECTORY (systemd's LoadCredential=). Secrets never reach a log. */
#pragma once

#include "macro.h"

typedef struct Credentials {
        char *path;                /* where they were read from (for messages) */
        char *access_key_id;       /* S3 */
        char *secret_access_key;   /* S3; wiped on free */
        char **headers;            /* "Name: value" lines, NULL-terminated; wiped on free */
        size_t n_headers;
} Credentials;

typedef enum CredentialsKind {
        CREDENTIALS_S3_KEYS,
        CREDENTIALS_HTTP_HEADERS,
} CredentialsKind;

/* Resolve name (absolute, or relative to $CREDENTIALS_DIRECTORY) and read it.
 * On failure *ret_error says what is wrong without quoting the file's content. */
int credentials_load(const char *name, CredentialsKind kind, Credentials **ret, char **ret_error);
Credentials *credentials_free(Credentials *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Credentials *, credentials_free);

/* The path name resolves to (caller frees). */
int credentials_resolve(const char *name, char **ret, char **ret_error);
