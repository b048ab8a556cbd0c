/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-text.h: how dockctl shows values to people: strings a camera sent
 * escaped, sizes in IEC units, times as local dates. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A copy of s in which nothing can act on a terminal: C0 controls, DEL, C1
 * controls, bidirectional overrides and invalid UTF-8 are written as \xNN or
 * \uNNNN; a backslash as \\. NULL on OOM. */
char *text_escape(const char *s);
/* "1.5 MiB", "512 B". */
const char *text_iec(uint64_t bytes, char *buf, size_t size);
/* usec since the epoch as "YYYY-MM-DD HH:MM:SS" in local time. */
const char *text_local_time(uint64_t usec, char *buf, size_t size);
/* Columns a UTF-8 string takes (one per code point: dockctl prints no wide ones). */
size_t text_width(const char *s);
