/* SPDX-License-Identifier: Apache-2.0 */
/* seal.h: what a dock writes for a camera that does not sign (protocol §12.6):
 * the sealed manifest of a file it pulled, its detached CMS signature with the
 * dock's key, and the dock's self-signed certificate that signature names.
 * Pure; no logging. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#include "macro.h"

/* What the dock knows of one file it pulled from a camera that does not sign.
 * Strings the camera sent (serial, model, firmware, path) are taken as they
 * are and checked or encoded here, never trusted. */
typedef struct SealInput {
        const char *device_serial;   /* must be a §12.1 serial */
        const char *model;           /* not printable or empty: "unknown" */
        const char *firmware;        /* likewise */
        const char *recording_id;    /* seal_recording_id() */
        uint64_t size;
        uint8_t sha256[32];
        uint8_t prev[32];            /* the camera's previous sealed manifest's SHA-256; zeros first */
        time_t capture_time;         /* the camera's (unverified) date of the file */
        const char *dock_name;
        time_t sealed_time;          /* the dock's clock */
        const char *source_path;     /* the camera's path, raw; percent-encoded here */
} SealInput;

/* "G" + 16 lower-case hex digits of SHA-256(path NUL size NUL date): the same
 * file (path, size, date) gives the same id at every docking; buf holds 18. */
int seal_recording_id(const char *source_path, uint64_t size, time_t capture_time, char buf[static 18]);
/* The path with every byte outside [A-Za-z0-9._/-] as %XX. */
char *seal_source_path_encode(const char *path);

/* The manifest text (§12.6); it parses with manifest_parse_sealed() or this
 * fails (-EINVAL: an input that cannot be sealed, such as an invalid serial). */
int seal_manifest_format(const SealInput *in, char **ret, size_t *ret_size);
/* A detached CMS SignedData (DER) over the manifest bytes with key, carrying cert:
 * `openssl cms -verify -binary -inform DER -content X.man -CAfile dock-cert.pem
 * -purpose any` accepts it. */
int seal_sign(EVP_PKEY *key, X509 *cert, const uint8_t *manifest, size_t size, uint8_t **ret, size_t *ret_size);
/* A self-signed certificate for the dock's key: subject CN "dockd dock NAME",
 * O "dockd", serialNumber NAME; valid from a day before now for 30 years. */
int seal_dock_certificate(EVP_PKEY *key, const char *dock_name, time_t now, X509 **ret);
