/* SPDX-License-Identifier: Apache-2.0 */
/* generic-survey.c: see generic-survey.h. One step at a time through the
 * camera's queue; a step the camera refuses (a property it does not have) is
 * noted as not offered, a transport failure ends the survey. */
#include <time.h>

#include "clock-util.h"
#include "generic-survey.h"

struct GenericSurvey {
        Camera *camera;
        const GenericCameraConfig *config;
        usec_t drift_threshold;
        generic_survey_done_t cb;
        void *userdata;
        sd_event_source *timer;
        GenericListing *first;
        GenericSurveyResult result;
};

GenericSurvey *generic_survey_free(GenericSurvey *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->timer);
        generic_listing_free(s->first);
        generic_listing_free(s->result.listing);
        camera_unref(s->camera);
        free(s);
        return NULL;
}

static void survey_end(GenericSurvey *s, int error) {
        s->cb(s->camera, error, error < 0 ? NULL : &s->result, s->userdata);
}

static int on_interval(sd_event_source *src, uint64_t usec, void *userdata);

static void on_listed(Camera *c, int error, uint16_t rc, PtpObjectProps *objects, size_t n, void *userdata) {
        GenericSurvey *s = userdata;
        GenericListing *l = NULL;
        int r = error;

        if (r >= 0)
                r = generic_listing_build(s->config, objects, n, s->first, time(NULL), &l);
        ptp_object_props_free(objects, n);
        if (r < 0)
                return survey_end(s, r);
        if (!s->first) {
                s->first = l;
                r = sd_event_add_time_relative(c->event, &s->timer, CLOCK_MONOTONIC, GENERIC_SURVEY_INTERVAL, 0,
                                               on_interval, s);
                return r < 0 ? survey_end(s, r) : (void) 0;
        }
        s->result.listing = l;
        survey_end(s, 0);
}

static void list(GenericSurvey *s) {
        int r = camera_list_objects(s->camera, on_listed, s);

        if (r < 0)
                survey_end(s, r);
}

static int on_interval(sd_event_source *src, uint64_t usec, void *userdata) {
        list(userdata);
        return 0;
}

/* A refusal (-EREMOTEIO) or an answer that is no value (-EBADMSG: umtprd
 * declares BatteryLevel UINT16 and it always reads 0x8000) means the camera
 * does not offer it; any other failure is the camera's and ends the survey. */
static bool survey_failed(GenericSurvey *s, int error) {
        if (error >= 0 || error == -EREMOTEIO || error == -EBADMSG)
                return false;
        survey_end(s, error);
        return true;
}

static void on_time_set(Camera *c, int error, uint16_t rc, void *userdata) {
        GenericSurvey *s = userdata;

        if (survey_failed(s, error))
                return;
        s->result.clock_corrected = error >= 0;
        s->result.clock_set_rc = rc;
        list(s);
}

/* A clock that cannot be read is left alone: this camera's DateTime is set
 * only where it offers one and the section says so. */
static void on_time(Camera *c, int error, uint16_t rc, time_t camera_time, void *userdata) {
        GenericSurvey *s = userdata;
        time_t now = time(NULL);
        int r;

        if (survey_failed(s, error))
                return;
        if (error < 0)
                return list(s);
        s->result.have_clock = true;
        s->result.clock_drift = (int64_t) camera_time - (int64_t) now;
        s->result.clock_decision = health_clock_decision(s->config->clock_set, true, s->result.clock_drift,
                                                         s->drift_threshold, clock_synchronised());
        if (s->result.clock_decision != CLOCK_SET)
                return list(s);
        r = camera_set_time(c, now, on_time_set, s);
        if (r < 0)
                survey_end(s, r);
}

/* Only what DeviceInfo announces is asked for (PTP 1.0 §5.5.1). */
static void read_clock(GenericSurvey *s) {
        int r;

        if (!ptp_device_info_has_property(&s->camera->info, PTP_DPC_DATE_TIME))
                return list(s);
        r = camera_get_time(s->camera, on_time, s);
        if (r < 0)
                survey_end(s, r);
}

static void on_battery(Camera *c, int error, uint16_t rc, unsigned percent, void *userdata) {
        GenericSurvey *s = userdata;

        if (survey_failed(s, error))
                return;
        if (error >= 0) {   /* camera.c took only 0..100 */
                s->result.have_battery = true;
                s->result.battery_percent = percent;
        }
        read_clock(s);
}

static void on_session(Camera *c, int error, uint16_t rc, void *userdata) {
        GenericSurvey *s = userdata;
        int r;

        if (error < 0)
                return survey_end(s, error);
        if (!ptp_device_info_has_property(&c->info, PTP_DPC_BATTERY_LEVEL))
                return read_clock(s);
        r = camera_get_battery_level(c, on_battery, s);
        if (r < 0)
                survey_end(s, r);
}

int generic_survey_start(Camera *c, const GenericCameraConfig *g, usec_t drift_threshold, generic_survey_done_t cb,
                         void *userdata, GenericSurvey **ret) {
        GenericSurvey *s = calloc(1, sizeof *s);
        int r;

        if (!s)
                return -ENOMEM;
        *s = (GenericSurvey) {
                .camera = camera_ref(c), .config = g, .drift_threshold = drift_threshold, .cb = cb, .userdata = userdata,
        };
        *ret = s;   /* before the first step: cb may come at once, and free it */
        if (c->session_open) {
                /* Identification opened it (camera.c). Never a second OpenSession:
                 * umtprd 1.3.10 answers it with a malformed container (README). */
                on_session(c, 0, PTP_RC_OK, s);
                return 0;
        }
        /* Identified without a session of ours: perhaps one our previous run
         * left open, which OpenSession alone would run into (camera.h). */
        r = camera_take_over_session(c, on_session, s);
        if (r < 0) {
                *ret = generic_survey_free(s);
                return r;
        }
        return 0;
}
