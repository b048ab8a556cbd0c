/* SPDX-License-Identifier: Apache-2.0 */
/* reconcile.h: proves that central storage still holds every segment this dock
 * deleted from a camera, as it confirmed it (README "Reconciliation",
 * docs/reconciliation.md). The objects to prove come from the custody tally's
 * lists; the backend lists (s3) or stats (file, tus) them, and reads back what
 * it cannot prove otherwise. One run at a time: a request while one runs gets
 * that run's result. Each problem is logged (RECONCILE_PROBLEM, crit); the
 * owner files the report and exports the figures. */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "custody-tally.h"

typedef struct Reconciler Reconciler;

#define RECONCILE_FINDINGS_MAX 1000
#define RECONCILE_UNCHECKED_LISTED 100

typedef enum ReconcileResultKind {
        RECONCILE_OK,              /* finished, nothing wrong */
        RECONCILE_PROBLEMS,        /* finished, something missing or different */
        RECONCILE_ERROR,           /* could not finish */
        _RECONCILE_RESULT_MAX,
} ReconcileResultKind;

const char *reconcile_result_to_string(ReconcileResultKind k);

/* result: the run's document (borrowed: json_object_get() to keep it); NULL
 * when the reconciler is freed before the run ends. */
typedef void (*reconcile_done_t)(Reconciler *r, struct json_object *result, void *userdata);

/* tally and backend are borrowed and must outlive it. The last result is read
 * from <state_dir>/reconcile/last.json. finished (optional) is called after
 * every run, before the callers' callbacks (the owner files the report there
 * and may add "report" to the result). */
int reconciler_new(sd_event *event, const DockdConfig *config, Backend *backend, CustodyTally *tally,
                   reconcile_done_t finished, void *userdata, Reconciler **ret);
/* A run in progress is abandoned: its callers are called back with NULL. */
Reconciler *reconciler_free(Reconciler *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Reconciler *, reconciler_free);

/* Start a run (trigger: "request" or "schedule"), or join the one in
 * progress; cb is called once with its result. */
int reconciler_run(Reconciler *r, const char *trigger, reconcile_done_t cb, void *userdata);
bool reconciler_running(Reconciler *r);

/* The last finished run's result (persisted; errors are not kept), or NULL. */
struct json_object *reconciler_last(Reconciler *r);
/* Runs since start by result. */
uint64_t reconciler_runs(Reconciler *r, ReconcileResultKind k);
/* When the last finished run started (CLOCK_REALTIME, usec), 0 if none. */
usec_t reconciler_last_started(Reconciler *r);
/* When the run of a result document started (whole seconds), 0 if unknown. */
usec_t reconcile_result_started(struct json_object *result);
