/* SPDX-License-Identifier: Apache-2.0 */
/* reconcile-report.h: the report a reconciliation with problems files for the
 * supervisors (docs/reconciliation.md, schema dockd.reconciliation-report):
 * JSON and a short text, rendered from the run's result document. */
#pragma once

#include <json-c/json.h>
#include <time.h>

#include "report.h"

#define RECONCILE_REPORT_SCHEMA "dockd.reconciliation-report"
#define RECONCILE_REPORT_SCHEMA_VERSION 1

/* result: the run's result document (borrowed), with at least one finding.
 * ret: a Report named "<UTC-time>-reconciliation", severity critical; free
 * with report_done(). -ENODATA when the result has no finding. */
int reconcile_report_render(struct json_object *result, const char *dock, time_t now, Report *ret);
