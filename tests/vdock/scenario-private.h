/* scenario-private.h: helpers shared by scenario.c, scenario-keys.c and
 * scenario-util.c. */
#pragma once
#include "scenario.h"

#define SCENARIO_ERROR g_quark_from_static_string("vdock-scenario")

gboolean scenario_fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
gboolean parse_u64(const char *s, uint64_t *ret);
gboolean parse_double(const char *s, double *ret);
gboolean parse_bool(const char *s);
gboolean valid_officer(const char *s);
gboolean valid_categories(const char *s);
