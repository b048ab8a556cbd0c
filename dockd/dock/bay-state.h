/* SPDX-License-Identifier: Apache-2.0 */
/* bay-state.h: one bay of the dock as data: the Bay object that bay.c (the
 * docking state machine) and bay-health.c (tests, charge, findings, report)
 * share, its states, and bay_set_state(), which logs every transition, shows
 * it on the bay's LEDs and tells the bay's owner. */
#pragma once

#include "camera.h"
#include "challenge.h"
#include "charger.h"
#include "dock-context.h"
#include "health.h"
#include "led.h"
#include "log.h"
#include "offload.h"

typedef enum BayState {
        BAY_EMPTY,
        BAY_IDENTIFYING,
        BAY_SYNCING,
        BAY_OFFLOADING,
        BAY_CHARGING,
        BAY_TESTING,
        BAY_READY,
        BAY_FAULT,
        BAY_DISABLED,                /* an operator disabled it: a camera in it is left alone */
        _BAY_STATE_MAX,
        _BAY_STATE_INVALID = -EINVAL,
} BayState;

typedef struct Bay Bay;

/* What a bay tells its owner (the manager). */
typedef struct BayCallbacks {
        void (*state_changed)(Bay *b, BayState old, void *userdata);
} BayCallbacks;

struct Bay {
        unsigned n_ref;
        const DockContext *ctx;
        BayCallbacks cb;
        void *userdata;
        unsigned index;              /* 1-based */
        char name[8];
        const BayConfig *config;
        BayState state;
        char *fault_reason;

        Camera *camera;
        char *serial;                /* the docked camera's, kept through a re-enumeration */
        char *model;
        char *firmware;
        uint8_t *device_cert;        /* DER, between certificate check and challenge */
        size_t device_cert_size;
        uint8_t nonce[CHALLENGE_NONCE_SIZE];   /* of this session's SignChallenge */
        Offload *offload;
        struct GenericSurvey *survey;   /* an allow-listed camera that does not sign */
        struct json_object *generic_status;   /* what its survey found (status "generic") */
        const struct GenericCameraConfig *generic;   /* docked as one that does not sign: the dock seals */
        OffloadSummary summary;
        bool have_summary;

        bool disabled;               /* by an operator (bay_set_enabled()) */
        libusb_device *parked;       /* the device in the bay while it is disabled, untouched */
        sd_event_source *debounce;   /* the camera left: is it coming back? */
        sd_event_source *retry;      /* after a failure */
        unsigned failures;           /* consecutive camera failures in this docking */
        bool power_cycled;           /* the port was power-cycled once in this docking */
        sd_event_source *power;      /* port power back on */
        usec_t docked_at;            /* CLOCK_REALTIME */
        int64_t clock_drift;         /* seconds, camera minus dock */
        bool clock_known;

        /* bay-health.c: this docking's tests, charge and findings */
        Led *led_green, *led_red;
        Charger *charger;
        sd_event_source *charge_timer;
        sd_event_source *self_test_poll;
        FindingList findings;
        size_t findings_reported;    /* how many of them a filed report holds */
        char report_id[37];          /* the docking's first report, "" if none */
        char **prev_codes;           /* finding codes reported before a dockd restart */
        bool integrity_fault;        /* fault LED pattern: supervisor, not repair */
        char *officer_id;
        CameraHistory history;
        bool testing_started;
        void (*tests_next)(struct Bay *b);
        bool self_test_started, self_test_done, self_test_query;
        bool self_test_rerun;        /* an operator's re-run (bay_health_rerun_self_test()) */
        unsigned self_test_polls;
        PtpBatteryTelemetry battery;
        bool have_battery;
        bool offload_done;
        usec_t charge_started;       /* CLOCK_MONOTONIC; 0: not seen charging */
        usec_t charge_full_after;    /* time to full, 0: not full yet */
        int64_t charge_peak_ua, charge_last_ua, charge_last_uv;
        unsigned charge_samples;
        bool charge_full, charge_inhibited;
};

const char *bay_state_to_string(BayState s);

/* Logs "State changed: a -> b", updates the LEDs, tells the owner. Leaving
 * fault forgets the fault's reason. */
void bay_set_state(Bay *b, BayState s);
/* The bay cannot go on with this docking (the device cannot be opened, the
 * custody log cannot be written, the port cannot be powered): fault, the reason
 * logged under message_id. No report is filed: the camera is not at fault
 * (bay-health.h files the camera's faults). */
void bay_set_fault(Bay *b, const char *message_id, const char *fmt, ...) _printf_(3, 4);
/* Show the state on the bay's bicolour LED (README, "Status LEDs"). */
void bay_update_leds(Bay *b);

#define log_bay_full_errno(b, level, error, ...) \
        log_full_errno_ctx(level, error, (&(LogContext) { .bay = (b)->name, .serial = (b)->serial }), __VA_ARGS__)
#define log_bay_debug(b, ...) (void) log_bay_full_errno(b, LOG_DEBUG, 0, __VA_ARGS__)
#define log_bay_info(b, ...) (void) log_bay_full_errno(b, LOG_INFO, 0, __VA_ARGS__)
#define log_bay_notice(b, ...) (void) log_bay_full_errno(b, LOG_NOTICE, 0, __VA_ARGS__)
#define log_bay_warning(b, ...) (void) log_bay_full_errno(b, LOG_WARNING, 0, __VA_ARGS__)
#define log_bay_error(b, ...) (void) log_bay_full_errno(b, LOG_ERR, 0, __VA_ARGS__)
#define log_bay_warning_errno(b, e, ...) log_bay_full_errno(b, LOG_WARNING, e, __VA_ARGS__)
#define log_bay_error_errno(b, e, ...) log_bay_full_errno(b, LOG_ERR, e, __VA_ARGS__)
