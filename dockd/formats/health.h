/* SPDX-License-Identifier: Apache-2.0 */
/* health.h: what a docking found wrong with a camera (findings, each with a
 * severity, the values measured and the policy clause it concerns), the checks
 * that produce them, and each camera's history across dockings (last docked,
 * battery health over time; kept on disk by camera-history.h). Pure. */
#pragma once

#include <json-c/json.h>
#include <time.h>

#include "dockd-config.h"
#include "ptp.h"

typedef enum Severity {
        SEVERITY_INFO,
        SEVERITY_WARNING,      /* report it; the camera may still be used */
        SEVERITY_ERROR,        /* the camera must not be issued for a shift */
        SEVERITY_CRITICAL,     /* integrity: evidence may be at stake */
        _SEVERITY_MAX,
} Severity;

typedef struct Finding {
        char *code;                    /* stable identifier, e.g. "battery-health" */
        Severity severity;
        char *summary;                 /* one sentence for people */
        const char *policy;            /* clause id in the policy table (health.c) */
        struct json_object *measured;  /* the values behind it */
} Finding;

typedef struct FindingList {
        Finding *items;
        size_t n;
} FindingList;

const char *severity_to_string(Severity s);
void findings_add(FindingList *l, const char *code, Severity severity, const char *policy,
                  struct json_object *measured, const char *fmt, ...) _printf_(6, 7);
void findings_addv(FindingList *l, const char *code, Severity severity, const char *policy,
                   struct json_object *measured, const char *fmt, va_list ap) _printf_(6, 0);
bool findings_has(const FindingList *l, const char *code);
Severity findings_max(const FindingList *l);
void findings_clear(FindingList *l);
/* Remove the findings whose code is in codes (NULL-terminated), keeping the
 * order of the others; returns how many of the first `before` were removed. */
size_t findings_remove(FindingList *l, const char *const *codes, size_t before);
/* Move the findings after the first `from` into a new list (a follow-up report). */
void findings_take_from(FindingList *l, size_t from, FindingList *ret);

/* The policy clause a finding concerns: section and text (seed policy 003). */
const char *policy_section(const char *id);
const char *policy_text(const char *id);

/* Checks. Each adds findings to out, and nothing when all is well. */
void health_check_battery(const DockdConfig *c, const PtpBatteryTelemetry *t, FindingList *out);
void health_check_self_test(const PtpSelfTestResult *r, FindingList *out);
void health_check_storage(const DockdConfig *c, uint64_t capacity, uint64_t used, FindingList *out);
/* What became of a camera's clock that was read. */
typedef enum ClockOutcome {
        CLOCK_CORRECTED,        /* set from the dock's clock */
        CLOCK_NOT_CORRECTED,    /* it should have been, and was not: refused, or the dock's clock unsynchronised */
        CLOCK_LEFT_AS_CONFIGURED, /* clock_set = no: only recorded */
} ClockOutcome;
void health_check_clock(const DockdConfig *c, int64_t drift_seconds, ClockOutcome outcome, FindingList *out);
void health_check_undocked(const DockdConfig *c, time_t last_docked, time_t now, FindingList *out);

/* Whether to set a camera's clock after reading it: only where configured
 * (set_configured), only when it is off by more than threshold or could not be
 * read (drift_known false), and never while the dock's own clock is not
 * synchronised (dock_synchronised 0, clock_synchronised()): a wrong dock clock
 * must not become the time stamp of evidence. */
typedef enum ClockDecision {
        CLOCK_LEAVE,                 /* record the drift only */
        CLOCK_SET,
        CLOCK_NOT_SET_UNSYNCHRONISED,
} ClockDecision;
ClockDecision health_clock_decision(bool set_configured, bool drift_known, int64_t drift, usec_t threshold,
                                    int dock_synchronised);

/* A camera's history across dockings (camera-history.h keeps it). */
typedef struct BatterySample {
        time_t time;
        unsigned health_permille;      /* full-charge / design */
        unsigned cycles;
        unsigned full_mah, design_mah;
} BatterySample;

#define CAMERA_HISTORY_MAX 32

typedef struct CameraHistory {
        time_t last_docked;            /* 0: never seen */
        BatterySample battery[CAMERA_HISTORY_MAX];   /* oldest first */
        size_t n_battery;
} CameraHistory;

void camera_history_add_battery(CameraHistory *h, const BatterySample *s);
/* A warning when health fell markedly over the recorded dockings. */
void health_check_battery_trend(const DockdConfig *c, const CameraHistory *h, FindingList *out);
struct json_object *camera_history_battery_json(const CameraHistory *h);
