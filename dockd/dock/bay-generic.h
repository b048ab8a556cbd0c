/* SPDX-License-Identifier: Apache-2.0 */
/* bay-generic.h: what a bay says about a device without the extension
 * (README, "Cameras that do not sign"). */
#pragma once

#include "bay-state.h"
#include "generic-survey.h"

/* One warning about device c: its USB id, and its claimed serial only when g
 * allow-lists it and the serial is a usable name; reason goes to DOCKD_REASON. */
void bay_generic_log(Bay *b, Camera *c, const GenericCameraConfig *g, const char *reason, const char *fmt, ...)
        _printf_(5, 6);
/* What became of the camera's clock: "not-offered" (no DateTime), "drift-recorded"
 * (left as it was: [generic.NAME] clock_set = no, or within the threshold),
 * "set", "set-refused", "not-set-dock-unsynchronised". */
const char *generic_clock_to_string(const GenericSurveyResult *res);
/* Status "generic": what the survey found, for the operator; paths as a
 * sealed manifest writes them (protocol §12.6), never the camera's raw bytes. */
struct json_object *bay_generic_status(const GenericCameraConfig *g, const GenericSurveyResult *res,
                                       size_t complete, const char *note);
/* The first recordings of the listing, one log line each. */
void bay_generic_log_files(Bay *b, const GenericListing *l);
