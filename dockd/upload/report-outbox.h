/* SPDX-License-Identifier: Apache-2.0 */
/* report-outbox.h: where filed malfunction reports live until they are
 * delivered everywhere: kept durably in <state_dir>/reports/, logged to the
 * journal (MALFUNCTION_REPORT), uploaded to central storage
 * (<prefix>/reports/<dock>/<name>.json and .txt), and POSTed to [report]
 * webhook= until it answers 2xx; across restarts. (Segments and the custody log
 * go to central storage through central.h.) */
#pragma once

#include <json-c/json.h>

#include "report.h"
#include "uploader.h"

typedef struct ReportOutbox ReportOutbox;

/* Reports go to central storage through uploader (borrowed). Starts delivering
 * what an earlier run left undelivered. */
int report_outbox_new(sd_event *event, const DockdConfig *config, Uploader *uploader, ReportOutbox **ret);
ReportOutbox *report_outbox_free(ReportOutbox *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReportOutbox *, report_outbox_free);

/* Render, store, log, and start delivering a report. ret_id (optional) gets its
 * id (37 bytes). */
int report_outbox_file(ReportOutbox *o, const ReportContext *ctx, char ret_id[37]);

/* The most recent reports, newest first: id, name, time, camera, bay,
 * severity, summary, uploaded, delivered. */
struct json_object *report_outbox_list_json(ReportOutbox *o, size_t max);
