/* SPDX-License-Identifier: Apache-2.0 */
/* generic-survey.h: what an allow-listed camera that does not sign offers, read
 * without changing anything on it (README, "Cameras that do not sign"): a
 * session, the standard BatteryLevel (0x5001) and DateTime (0x5011) where it
 * answers them, and two listings GENERIC_SURVEY_INTERVAL apart, so that a file
 * still being written (its size changed between them) is not complete, with
 * each file's date from the ObjectInfo the listing reads (GenericFile.date;
 * min_age in generic-listing.h). */
#pragma once

#include "camera.h"
#include "generic-listing.h"

#define GENERIC_SURVEY_INTERVAL (2 * USEC_PER_SEC)

typedef struct GenericSurvey GenericSurvey;

typedef struct GenericSurveyResult {
        GenericListing *listing;     /* the second listing, completeness against the first */
        bool have_battery;
        unsigned battery_percent;
        bool have_clock;
        int64_t clock_drift;         /* seconds, camera minus dock */
} GenericSurveyResult;

/* Called once, unless the survey is freed first. error < 0: the camera failed
 * (then result is NULL). */
typedef void (*generic_survey_done_t)(Camera *c, int error, const GenericSurveyResult *result, void *userdata);

int generic_survey_start(Camera *c, const GenericCameraConfig *g, generic_survey_done_t cb, void *userdata,
                         GenericSurvey **ret);
GenericSurvey *generic_survey_free(GenericSurvey *s);
