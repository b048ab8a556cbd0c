/* SPDX-License-Identifier: Apache-2.0 */
/* report-summary.h: counts for supervisors (dockctl reports --summary): the
 * reports filed on this dock between two times, per camera and per finding
 * code, read from the outbox's files (<state_dir>/reports/NAME.json; NAME
 * starts with the filing time, so a time range is chosen from the names
 * alone). Blocking file reads: run it in a worker thread. */
#pragma once

#include <stdint.h>
#include <stdlib.h>

#define REPORT_SUMMARY_MAX 10000   /* reports read per request */

/* since, until: seconds since the epoch (until 0: no end). At most max reports
 * are read, oldest first; the answer then says "truncated" and up to when it
 * counted. ret_json: the JSON document (README, "Counts for supervisors");
 * caller frees. */
int report_summary_build(const char *reports_dir, int64_t since, int64_t until, size_t max, char **ret_json);
