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
/* Cut s to cols columns (code points), in place. */
void text_fit(char *s, size_t cols);
/* The SGR colour of a bay state on a terminal ("" for none). */
const char *text_state_colour(const char *state);
/* An age in words: "42 s", "5 min", "3 h", "2 d". */
const char *text_age(uint64_t seconds, char *buf, size_t size);
