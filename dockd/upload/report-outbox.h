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

/* Store, log and start delivering a report rendered elsewhere (a
 * reconciliation's); serial "-" and bay 0 when it is about no one camera.
 * codes: its findings' codes, NULL-terminated (counted for the metrics). */
int report_outbox_file_rendered(ReportOutbox *o, const Report *rep, const char *serial, unsigned bay,
                                const char *const *codes);

typedef struct ReportOutboxStats {
        uint64_t filed[_SEVERITY_MAX];         /* since start, by severity */
        const char *const *finding_codes;      /* borrowed: codes of the findings filed since start */
        const uint64_t *finding_counts;
        size_t n_findings;
        size_t undelivered;                    /* not yet uploaded, or not yet accepted by the webhook */
        time_t oldest_undelivered;             /* when the oldest of them was filed; 0: none */
} ReportOutboxStats;

void report_outbox_get_stats(ReportOutbox *o, ReportOutboxStats *ret);

/* The most recent reports, newest first: id, name, time, camera, bay,
 * severity, summary, uploaded, delivered. */
struct json_object *report_outbox_list_json(ReportOutbox *o, size_t max);

/* What NAME.status says of a report: what was filed, and where it has been
 * delivered. Read back at start, strictly: dockd writes every key once. */
typedef struct ReportStatus {
        char id[37];
        char serial[40];
        char severity[16];
        char time[32];
        unsigned bay;
        bool uploaded, delivered;
        char *summary;
} ReportStatus;

/* -EBADMSG when text is no status dockd wrote (a key missing, twice or unknown,
 * a value out of its form: the id goes into the webhook's headers, the rest into
 * logs and D-Bus answers), with the 1-based line in *ret_line (0: the whole file). */
int report_status_parse(const char *text, size_t size, ReportStatus *ret, unsigned *ret_line);
void report_status_done(ReportStatus *s);
