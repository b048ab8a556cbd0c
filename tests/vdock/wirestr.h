/* wirestr.h: camera strings exactly as they go on the wire: UTF-16 code units
 * (protocol §4), so that a hostile scenario can send anything a PTP string can
 * carry: control characters, terminal escapes, lone surrogates, 254 units.
 * Written in scenarios with escapes (tests/vdock/README.md, "Hostile strings"). */
#pragma once
#include <glib.h>

/* Decode SPEC: UTF-8 text with the escapes \n \t \r \a \e \s \\ \, \: \xHH
 * (one unit 0x00HH) and \uHHHH (one unit, surrogates allowed). Returns a
 * GArray of guint16 units, or NULL with error set. */
GArray *wirestr_parse(const char *spec, GError **error);
/* A plain UTF-8 string as units (no escapes). */
GArray *wirestr_from_utf8(const char *utf8);
/* UTF-8 for logs and the ground truth: invalid units become U+FFFD. */
char *wirestr_to_utf8(const GArray *units);
/* PTP string (§4): u8 count including NUL, then the units; at most 254 units
 * are sent (the longest a PTP string can be). */
void put_wirestr(GByteArray *a, const GArray *units);
