/* SPDX-License-Identifier: Apache-2.0 */
/* bay-health.h: the health side of a docking (bay.h): the camera's battery and
 * self-test, the bay's charger, the findings they produce, and the docking's
 * malfunction report. Called by bay.c at the points of its state machine. */
#pragma once

#include "bay-state.h"
#include "health.h"

int bay_health_init(Bay *b);
void bay_health_free(Bay *b);

/* Is b->serial the camera this bay held when dockd last stopped (a restart,
 * not a new docking)? Then bay_health_docked() resumes that docking. */
bool bay_health_docking_resumable(Bay *b, const char *serial);
/* A new (or resumed) docking of b->serial: camera history, missed uploads,
 * charge watch, and the docking's record in <state_dir>/bays/. */
void bay_health_docked(Bay *b);
/* The clock was checked (and set when corrected). */
void bay_health_clock_checked(Bay *b, ClockOutcome outcome);
/* State testing: battery telemetry, start the self-test, then call next. */
void bay_health_start_tests(Bay *b, void (*next)(Bay *b));
/* The offload finished: storage check, self-test result, battery, charge; then
 * ready or fault, and the report if anything was found. */
void bay_health_offload_done(Bay *b);
/* The camera has something wrong that ends the docking in fault now (untrusted
 * camera, camera not responding, integrity alert): a finding, fault, and the
 * report filed at once. */
void bay_health_file_fault(Bay *b, const char *code, Severity severity, const char *policy,
                           struct json_object *measured, const char *fmt, ...) _printf_(6, 7);
/* An operator asked for the camera's self-test again: its result replaces the
 * docking's self-test findings, then the bay settles (ready or fault) and a
 * failure files a report, as at docking. Only a settled docking (ready or
 * fault) may re-run it. Returns 0 once started, the errors of
 * bay_health_can_rerun_self_test(), or the camera's error. */
int bay_health_rerun_self_test(Bay *b);
/* Whether bay_health_rerun_self_test() would start: 0, -ENODEV, -EBUSY,
 * -EOPNOTSUPP for a camera that does not sign (it has no self-test), or
 * -EPERM for a bay in fault for a reason of the dock's (no camera finding):
 * a self-test must not settle that one as ready. */
int bay_health_can_rerun_self_test(const Bay *b);
/* The docking's self-test, as status "self_test" and the report's
 * "self_test" say it (docs/malfunction-report.md): "passed", "failed" (a
 * self-test finding: a component failed, no result, no completion), "running",
 * "not-run" (not yet, [health] self_test = no, or it could not be started), or
 * "not-supported" for a camera that does not sign: never passed, never failed. */
const char *bay_health_self_test_status(const Bay *b);
/* A camera event (SelfTestComplete). */
void bay_health_event(Bay *b, const PtpContainer *e);
/* The docking ended: file what was found and not yet reported; charger back to auto. */
void bay_health_undocked(Bay *b);
/* Stop charging (a charger problem, a disabled bay), or allow it again. */
void bay_health_inhibit_charge(Bay *b, bool inhibit);

/* From the offload: what the bay turns into findings of the docking. */
void bay_health_officer(Bay *b, const char *officer_id);
void bay_health_quarantined(Bay *b, const char *segment, const char *reason);
void bay_health_delete_refused(Bay *b, const char *segment, uint16_t rc);
void bay_health_offload_finding(Bay *b, const char *code, Severity severity, const char *segment, const char *summary);
