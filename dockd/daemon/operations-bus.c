/* SPDX-License-Identifier: Apache-2.0 */
/* operations-bus.c: see operations-bus.h. A reconciliation can take long: the
 * call's message is kept and answered when the run ends. The summary reads
 * report files: it runs in the worker pool, and the answer goes out from the
 * loop when it is done. */
#include <json-c/json.h>

#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "operations-bus.h"
#include "reconcile.h"
#include "report-summary.h"

static void on_reconciled(Reconciler *rc, struct json_object *result, void *userdata) {
        sd_bus_message *msg = userdata;

        if (result)
                (void) sd_bus_reply_method_return(msg, "s",
                                                  json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN));
        else
                (void) sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_FAILED, "dockd is stopping; the run was abandoned");
        sd_bus_message_unref(msg);
}

int method_reconcile(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = reconciler_run(m->reconciler, "request", on_reconciled, sd_bus_message_ref(msg));
        if (r < 0) {
                sd_bus_message_unref(msg);
                return sd_bus_error_set_errnof(error, r, "Cannot start a reconciliation: %m");
        }
        return 1;   /* answered when the run ends */
}

int method_get_reconcile_result(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        struct json_object *last = reconciler_last(m->reconciler);

        return sd_bus_reply_method_return(msg, "s",
                                          last ? json_object_to_json_string_ext(last, JSON_C_TO_STRING_PLAIN) : "null");
}

typedef struct Summary {
        sd_bus_message *msg;
        char *dir;
        int64_t since, until;
        char *json;
} Summary;

static int summary_work(void *userdata, volatile bool *cancelled) {
        Summary *s = userdata;
        return report_summary_build(s->dir, s->since, s->until, REPORT_SUMMARY_MAX, &s->json);
}

static void summary_done(int result, void *userdata) {
        Summary *s = userdata;

        if (result >= 0)
                (void) sd_bus_reply_method_return(s->msg, "s", s->json);
        else
                (void) sd_bus_reply_method_errnof(s->msg, result, "Cannot count the reports: %m");
        sd_bus_message_unref(s->msg);
        free(s->dir);
        free(s->json);
        free(s);
}

int method_summarize_reports(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint64_t since, until;
        Summary *s;
        int r;

        r = sd_bus_message_read(msg, "tt", &since, &until);
        if (r < 0)
                return r;
        if (since > INT64_MAX / 2 || until > INT64_MAX / 2 || (until && until < since))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "since and until are out of range");
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (Summary) { .msg = sd_bus_message_ref(msg), .since = (int64_t) since, .until = (int64_t) until,
                         .dir = path_join(m->config->state_dir, "reports") };
        r = s->dir ? worker_pool_submit(m->dock.workers, summary_work, summary_done, s, NULL) : -ENOMEM;
        if (r < 0) {
                sd_bus_message_unref(s->msg);
                free(s->dir);
                free(s);
                return r;
        }
        return 1;
}
