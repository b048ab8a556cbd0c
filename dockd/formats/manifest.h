/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.h: the segment manifest (.man), docs/camera-protocol.md §12.2, parsed
 * strictly: one grammar, one order, nothing else. Pure; no logging. */
#pragma once

#include <time.h>

#include "hexdecoct.h"
#include "macro.h"

#define MANIFEST_MAX_SIZE 4096
#define MANIFEST_MAX_CATEGORIES 16

typedef struct Manifest {
        unsigned format;
        char *device_serial;
        char *model;
        char *firmware;
        char *recording_id;
        uint32_t segment_index;
        char *file_name;
        uint64_t size;
        uint8_t sha256[32];
        uint8_t prev[32];
        time_t start_time;
        time_t end_time;
        char *officer_id;
        char **categories;        /* NULL-terminated, possibly empty */
        size_t n_categories;
        /* §12.6, a manifest sealed by a dock (manifest_parse_sealed() only): */
        char *sealed_by;          /* the dock's name */
        time_t sealed_time;       /* the dock's clock when it sealed */
        char *source_path;        /* the file's path on the camera, percent-encoded */
} Manifest;

/* On failure returns -EBADMSG and, if ret_error is given, a message naming the line
 * and what is wrong ("line 9: sha256: not 64 lower-case hex digits"). */
int manifest_parse(const uint8_t *data, size_t size, Manifest **ret, char **ret_error);
/* A manifest sealed by a dock (§12.6): the same keys, then sealed_by, sealed_time
 * and source_path. manifest_parse() refuses those keys: a camera's manifest
 * never says a dock sealed it. */
int manifest_parse_sealed(const uint8_t *data, size_t size, Manifest **ret, char **ret_error);
/* §12.6 source_path: a camera's path, '/'-separated, with every byte outside
 * [A-Za-z0-9._/-] as %XX (upper-case hex), so that a hostile name stays one
 * line of plain text. */
bool source_path_is_valid(const char *s);
Manifest *manifest_free(Manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manifest *, manifest_free);

/* Grammar checks shared with the rest of dockd (protocol §12.1). */
bool serial_is_valid(const char *s);
bool recording_id_is_valid(const char *s);
bool officer_id_is_valid(const char *s);
bool category_is_valid(const char *s);

/* A SHA-256 as manifests, state files and custody records spell it: 64
 * lower-case hex digits (buf holds 65); one spelling only. */
static inline char *hex_sha256(const uint8_t sha[32], char buf[65]) {
        return hexmem(sha, 32, buf);
}
static inline int unhex_sha256(const char *s, uint8_t ret[32]) {
        return unhexmem(s, ret, 32);
}
