/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-ops.h: dockctl's verbs for IT operations and supervisors:
 * `reconcile [--last] [--json]` and `reports --summary [--since DATE]
 * [--until DATE] [--json|--csv]`. */
#pragma once

/* Runs the command line if it is one of these verbs and returns dockctl's exit
 * status; -ENOENT when it is another verb (dockctl.c handles it). */
int dockctl_ops_run(int argc, char *argv[]);

/* "YYYY-MM-DD" (midnight UTC) or RFC 3339 ("2026-11-22T06:30:00Z",
 * "…+01:00"): seconds since the epoch, or -EINVAL for anything else,
 * impossible dates included. */
int dockctl_parse_date(const char *s, int64_t *ret);
