/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.h: the dock's metrics for Prometheus ([metrics], README "Metrics for
 * Prometheus"): gathered from the manager's parts every interval, written to the
 * textfile atomically and served by metrics-http.c. Names and labels are the
 * contract the shipped alert rules and dashboard (contrib/) rely on. */
#pragma once

#include "macro.h"

typedef struct Manager Manager;
typedef struct Metrics Metrics;

/* Nothing to do (NULL in *ret, 0) when [metrics] has neither textfile nor
 * listen. A listener that cannot bind is an error (logged). */
int metrics_new(Manager *m, Metrics **ret);
Metrics *metrics_free(Metrics *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(Metrics *, metrics_free);

/* The exposition text as of now. Caller frees. */
char *metrics_render(Manager *m, Metrics *x);
