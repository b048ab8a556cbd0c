/* SPDX-License-Identifier: Apache-2.0 */
/* operations-bus.h: the D-Bus methods of IT operations and supervisors, in the
 * dock's vtable (manager-bus.c): Reconcile, GetReconcileResult,
 * SummarizeReports. Each answers one JSON document (docs/reconciliation.md,
 * README "Counts for supervisors"). */
#pragma once

#include <systemd/sd-bus.h>

/* Reconcile() -> s: starts a run or joins the one in progress; answers when it ends. */
int method_reconcile(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* GetReconcileResult() -> s: the last finished run's result, "null" if none. */
int method_get_reconcile_result(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* SummarizeReports(t since, t until) -> s: seconds since the epoch; until 0 = now. */
int method_summarize_reports(sd_bus_message *msg, void *userdata, sd_bus_error *error);
