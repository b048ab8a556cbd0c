/* SPDX-License-Identifier: Apache-2.0 */
/* indicator.c: what the LEDs show. Each bay has a bicolour LED (green and red;
 * both lit read as amber); the dock has one for its uplink and backlog. Blinking
 * is the kernel's timer trigger. The table is in the README ("Status LEDs"). */
#include "bay-health.h"
#include "manager.h"

typedef struct Look {
        LedPattern green, red;
} Look;

#define BLINK_WORKING LED_PATTERN_BLINK(500, 500)
#define BLINK_ALERT LED_PATTERN_BLINK(250, 250)
#define BLINK_SLOW LED_PATTERN_BLINK(1000, 1000)

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

/* The dock: red steady when it cannot keep custody or its spool is full, red
 * blinking while central storage is unreachable (recordings are held), green
 * blinking while uploads are queued, green steady when all is in. */
void manager_update_dock_leds(Manager *m) {
        UploaderStats us = {};
        Look l;

        if (m->uploader)
                uploader_get_stats(m->uploader, &us);
        if (m->custody_failed || m->spool_full)
                l = (Look) { LED_PATTERN_OFF, LED_PATTERN_ON };
        else if (us.failing)
                l = (Look) { LED_PATTERN_OFF, BLINK_SLOW };
        else if (us.queued > 0)
                l = (Look) { BLINK_SLOW, LED_PATTERN_OFF };
        else
                l = (Look) { LED_PATTERN_ON, LED_PATTERN_OFF };
        (void) led_set(m->dock_green, l.green);
        (void) led_set(m->dock_red, l.red);
}
