/* SPDX-License-Identifier: Apache-2.0 */
/* bay-state.c: see bay-state.h. */
#include <stdarg.h>

#include "bay-state.h"

static const char *const state_names[] = {
        [BAY_EMPTY] = "empty",
        [BAY_IDENTIFYING] = "identifying",
        [BAY_SYNCING] = "syncing",
        [BAY_OFFLOADING] = "offloading",
        [BAY_CHARGING] = "charging",
        [BAY_TESTING] = "testing",
        [BAY_READY] = "ready",
        [BAY_FAULT] = "fault",
        [BAY_DISABLED] = "disabled",
};

const char *bay_state_to_string(BayState s) {
        return s >= 0 && s < _BAY_STATE_MAX ? state_names[s] : NULL;
}

void bay_set_state(Bay *b, BayState s) {
        BayState old = b->state;

        if (old == s)
                return;
        log_bay_info(b, "State changed: %s -> %s", bay_state_to_string(old), bay_state_to_string(s));
        b->state = s;
        if (s != BAY_FAULT) {
                free(b->fault_reason);
                b->fault_reason = NULL;
        }
        bay_update_leds(b);
        if (b->cb.state_changed)
                b->cb.state_changed(b, old, b->userdata);
}

void bay_set_fault(Bay *b, const char *message_id, const char *fmt, ...) {
        char *reason = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&reason, fmt, ap) < 0)
                reason = NULL;
        va_end(ap);
        bay_set_state(b, BAY_FAULT);
        free(b->fault_reason);
        b->fault_reason = reason;
        log_full_errno_ctx(LOG_ERR, 0,
                           (&(LogContext) {
                                   .bay = b->name, .serial = b->serial, .message_id = message_id,
                                   .fields = (const LogField[]) { { "DOCKD_REASON", strna(reason) }, {} },
                           }),
                           "Bay fault: %s.", strna(reason));
}

/* ---- LEDs ---- */

typedef struct Look {
        LedPattern green, red;
} Look;

#define BLINK_WORKING LED_PATTERN_BLINK(500, 500)
#define BLINK_ALERT LED_PATTERN_BLINK(250, 250)

static Look bay_look(Bay *b) {
        switch (b->state) {
        case BAY_EMPTY:
                return (Look) { LED_PATTERN_OFF, LED_PATTERN_OFF };
        case BAY_IDENTIFYING:
        case BAY_SYNCING:
        case BAY_TESTING:
        case BAY_OFFLOADING:
                return (Look) { BLINK_WORKING, LED_PATTERN_OFF };          /* working: leave it */
        case BAY_CHARGING:
                return (Look) { LED_PATTERN_ON, LED_PATTERN_ON };          /* amber: charging */
        case BAY_READY:
                return (Look) { LED_PATTERN_ON, LED_PATTERN_OFF };         /* take this camera */
        case BAY_DISABLED:
                /* A camera in it: red, take another bay; empty: dark. */
                return (Look) { LED_PATTERN_OFF, b->parked ? LED_PATTERN_ON : LED_PATTERN_OFF };
        case BAY_FAULT:
        default:
                /* Red: do not take it. Blinking: an integrity or trust problem,
                 * a supervisor must see the camera. */
                return (Look) { LED_PATTERN_OFF, b->integrity_fault ? BLINK_ALERT : LED_PATTERN_ON };
        }
}

void bay_update_leds(Bay *b) {
        Look l = bay_look(b);

        (void) led_set(b->led_green, l.green);
        (void) led_set(b->led_red, l.red);
}
