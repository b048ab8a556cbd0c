/* SPDX-License-Identifier: Apache-2.0 */
/* tus-answer.h: what a tus server's answer headers mean (tus 1.0: Location,
 * Tus-Extension, Tus-Checksum-Algorithm), read from their values alone so that
 * it can be fuzzed. Upload-Offset and Upload-Length are parse_uint64()'s. */
#pragma once

#include "macro.h"

/* The upload URL a creation answer's Location names: absolute, absolute-path
 * (on origin, "scheme://host[:port]"), or relative to the directory of endpoint
 * (the creation URL, which holds a '/' after its "scheme://"). NULL when out of
 * memory. */
char *tus_location_resolve(const char *endpoint, const char *origin, const char *location);

/* Does an Upload-Metadata value (tus creation extension: "name base64,name
 * base64", a value may be absent) hold pair name with exactly the bytes value?
 * Values are canonical base64 of at most 4 KiB; anything else is no match. */
bool tus_metadata_has(const char *metadata, const char *name, const char *value);

/* The server says it checks each PATCH's SHA-256: the checksum extension in
 * Tus-Extension and sha256 in Tus-Checksum-Algorithm, each an element of its
 * comma-separated list (http_list_has_token(): "checksum-trailer" or
 * "nosha256" are not); either may be NULL (header absent). */
bool tus_announces_sha256(const char *extensions, const char *algorithms);
