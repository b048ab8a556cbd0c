/* SPDX-License-Identifier: Apache-2.0 */
/* generic-survey.h: what an allow-listed camera that does not sign offers, read
 * without changing anything on it (README, "Cameras that do not sign") but its
 * clock, and that only where [generic.NAME] clock_set says so: a session, the
 * standard BatteryLevel (0x5001) and DateTime (0x5011) where it announces and
 * answers them (DateTime set with SetDevicePropValue when
 * health_clock_decision() says so), and two listings GENERIC_SURVEY_INTERVAL
 * apart, so that a file still being written (its size changed between them)
 * is not complete, with each file's date from the ObjectInfo the listing
 * reads (GenericFile.date; min_age in generic-listing.h). */
#pragma once

#include "camera.h"
#include "generic-listing.h"
#include "health.h"

#define GENERIC_SURVEY_INTERVAL (2 * USEC_PER_SEC)

typedef struct GenericSurvey GenericSurvey;

typedef struct GenericSurveyResult {
        GenericListing *listing;     /* the second listing, completeness against the first */
        bool have_battery;
        unsigned battery_percent;
        bool have_clock;
        int64_t clock_drift;         /* seconds, camera minus dock, as read */
        ClockDecision clock_decision;  /* CLOCK_LEAVE unless have_clock */
        bool clock_corrected;        /* CLOCK_SET: the camera took the dock's time */
        uint16_t clock_set_rc;       /* CLOCK_SET: the camera's response code */
} GenericSurveyResult;

/* Called once, unless the survey is freed first. error < 0: the camera failed
 * (then result is NULL). */
typedef void (*generic_survey_done_t)(Camera *c, int error, const GenericSurveyResult *result, void *userdata);

/* drift_threshold: [dock] clock_drift_threshold, beyond which a clock is set
 * where g->clock_set allows it. */
int generic_survey_start(Camera *c, const GenericCameraConfig *g, usec_t drift_threshold, generic_survey_done_t cb,
                         void *userdata, GenericSurvey **ret);
GenericSurvey *generic_survey_free(GenericSurvey *s);
