/* SPDX-License-Identifier: Apache-2.0 */
/* prom-text.h: writes the Prometheus text exposition format (version 0.0.4):
 * a family's # HELP and # TYPE lines, then its samples, label values escaped
 * as the format requires (backslash, double quote, line feed), NaN and
 * infinities as the format spells them. */
#pragma once

#include <stdio.h>

#include "macro.h"

typedef struct PromText PromText;

int prom_text_new(PromText **ret);
PromText *prom_text_free(PromText *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(PromText *, prom_text_free);

/* type: "counter" or "gauge"; help: one line. */
void prom_family(PromText *p, const char *name, const char *type, const char *help);
/* A sample of the family last declared (name may add nothing to it). labels:
 * name, value pairs, NULL-terminated. */
void prom_sample(PromText *p, const char *name, double value, ...) __attribute__((sentinel));
/* The text; NULL after a write error (out of memory). Caller frees. */
char *prom_text_finish(PromText *p);
