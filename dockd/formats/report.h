/* SPDX-License-Identifier: Apache-2.0 */
/* report.h: the malfunction report, one document per camera per docking that
 * found a problem (docs/malfunction-report.md): JSON with a versioned schema, and
 * a short text rendering for people. */
#pragma once

#include <json-c/json.h>
#include <time.h>

#include "health.h"

#define REPORT_SCHEMA "dockd.malfunction-report"
#define REPORT_SCHEMA_VERSION 1

typedef struct ReportContext {
        const char *dock;
        unsigned bay;
        const char *serial;
        const char *model;
        const char *firmware;
        const char *officer_id;               /* NULL if unknown */
        time_t docked_at;
        const FindingList *findings;
        struct json_object *battery_history;  /* borrowed; may be NULL */
        struct json_object *offload;          /* borrowed; may be NULL */
        const char *follows;                  /* id of the earlier report of this docking, or NULL */
        const char *self_test;                /* "passed", "not-supported" …; NULL: not told */
} ReportContext;

typedef struct Report {
        char id[37];            /* UUID */
        char name[96];          /* "<UTC-time>-<serial>-<id's first 8 hex digits>", the file and object name */
        char time[32];          /* RFC 3339 UTC */
        Severity severity;
        char *summary;          /* one line: the most severe finding */
        char *json;
        char *text;
} Report;

int report_render(const ReportContext *ctx, time_t now, Report *ret);
/* A new random (version 4) UUID, the id of a report. */
void report_new_id(char buf[37]);
void report_done(Report *r);
