/* SPDX-License-Identifier: Apache-2.0 */
/* outbox.h: where filed reports live until they are delivered everywhere: kept
 * durably in <state_dir>/reports/, logged to the journal (MALFUNCTION_REPORT),
 * uploaded to central storage (<prefix>/reports/<dock>/<name>.json and .txt), and
 * POSTed to [report] webhook= until it answers 2xx; across restarts. */
#pragma once

#include <json-c/json.h>

#include "report.h"

typedef struct Manager Manager;
typedef struct Outbox Outbox;

int outbox_new(Manager *m, Outbox **ret);
Outbox *outbox_free(Outbox *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Outbox *, outbox_free);

/* Render, store, log, and start delivering a report. ret_id (optional) gets its
 * id (37 bytes). */
int outbox_file(Outbox *o, const ReportContext *ctx, char ret_id[37]);

/* The most recent reports, newest first: id, name, time, camera, bay,
 * severity, summary, uploaded, delivered. */
struct json_object *outbox_list_json(Outbox *o, size_t max);
