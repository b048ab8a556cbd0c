/* SPDX-License-Identifier: Apache-2.0 */
/* operations.c: the manager's parts for IT operations. The custody tally reads
 * the log once at start and then counts each record as it is appended; the
 * reconciler runs every [reconcile] interval, counted from the start of the
 * last run (kept across restarts), and on request; a run with problems files a
 * reconciliation report through the outbox; the metrics read all of it. */
#include <time.h>

#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "reconcile-report.h"

static void on_custody_record(uint64_t seq, const char *event, const char *camera, const char *segment,
                              const LogField *fields, void *userdata) {
        Manager *m = userdata;

        custody_tally_record(m->tally, seq, event, camera, segment, fields);
}

static void reconcile_schedule(Manager *m, usec_t last);

/* After every run, whoever asked for it: the next one is due an interval after
 * this one started (also after a failed one: a store that is down is not asked
 * again at once). A run with problems files a report for the supervisors. */
static void on_reconcile_finished(Reconciler *rc, struct json_object *result, void *userdata) {
        Manager *m = userdata;
        struct json_object *findings = json_object_object_get(result, "findings");
        size_t n = json_object_array_length(findings);
        const char *codes[n + 1];
        char code[n + 1][48];
        Report rep;
        int r;

        reconcile_schedule(m, reconcile_result_started(result));
        if (n == 0)
                return;
        r = reconcile_report_render(result, m->config->dock_name, time(NULL), &rep);
        if (r < 0)
                return (void) log_error_errno(r, "Cannot write the reconciliation report: %m");
        for (size_t i = 0; i < n; i++) {
                const char *kind = json_object_get_string(json_object_object_get(json_object_array_get_idx(findings, i),
                                                                                 "kind"));
                snprintf(code[i], sizeof code[i], "object-%s", strna(kind));
                codes[i] = code[i];
        }
        codes[n] = NULL;
        r = report_outbox_file_rendered(m->dock.reports, &rep, "-", 0, codes);
        if (r >= 0)
                json_object_object_add(result, "report", json_object_new_string(rep.id));
        report_done(&rep);
}

static void on_scheduled_done(Reconciler *rc, struct json_object *result, void *userdata) {
        /* on_reconcile_finished scheduled the next one. */
}

static int on_reconcile_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        /* While a requested run goes on, this joins it: its result counts. */
        r = reconciler_run(m->reconciler, "schedule", on_scheduled_done, m);
        if (r < 0)
                log_warning_errno(r, "Cannot start the scheduled reconciliation: %m");
        return 0;
}

/* The next run: interval after last (a restart does not run it early), at once
 * if that is past. */
static void reconcile_schedule(Manager *m, usec_t last) {
        usec_t interval = m->config->reconcile_interval, now = 0;
        usec_t due;

        if (interval == 0 || !m->reconcile_timer)
                return;
        (void) sd_event_now(m->event, CLOCK_REALTIME, &now);
        due = last && last + interval > now ? last + interval : now;
        (void) sd_event_source_set_time(m->reconcile_timer, due);
        (void) sd_event_source_set_enabled(m->reconcile_timer, SD_EVENT_ONESHOT);
}

int manager_setup_operations(Manager *m) {
        int r;

        r = custody_tally_new(m->custody_dir, m->config->state_dir, &m->tally);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the custody tally: %m");
        r = custody_tally_catch_up(m->tally);
        if (r < 0)
                log_warning_errno(r, "Cannot read the custody log for the counters: %m");
        else
                log_debug("Custody tally: %d records read since its checkpoint.", r);
        custody_log_set_observer(m->dock.custody, on_custody_record, m);
        r = reconciler_new(m->event, m->config, central_backend(m->dock.central), m->tally, on_reconcile_finished, m,
                           &m->reconciler);
        if (r < 0)
                return log_error_errno(r, "Cannot set up reconciliation: %m");
        r = sd_event_add_time(m->event, &m->reconcile_timer, CLOCK_REALTIME, 0, USEC_PER_SEC, on_reconcile_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the reconciliation timer: %m");
        (void) sd_event_source_set_enabled(m->reconcile_timer, SD_EVENT_OFF);
        reconcile_schedule(m, reconciler_last_started(m->reconciler));
        return metrics_new(m, &m->metrics);
}

void manager_operations_checkpoint(Manager *m) {
        int r;

        if (!m->tally)
                return;
        r = custody_tally_checkpoint(m->tally);
        if (r < 0)
                log_warning_errno(r, "Cannot save the custody tally's checkpoint: %m");
}

void manager_free_operations(Manager *m) {
        m->metrics = metrics_free(m->metrics);
        m->reconcile_timer = sd_event_source_disable_unref(m->reconcile_timer);
        m->reconciler = reconciler_free(m->reconciler);
        if (m->dock.custody)
                custody_log_set_observer(m->dock.custody, NULL, NULL);
        manager_operations_checkpoint(m);
        m->tally = custody_tally_free(m->tally);
}
