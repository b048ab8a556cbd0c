/* SPDX-License-Identifier: Apache-2.0 */
/* led.h: one LED-class LED (/sys/class/leds/NAME): off, on, or blinking by the
 * kernel's timer trigger (never toggled from the event loop). */
#pragma once

#include "macro.h"

typedef enum LedMode {
        LED_OFF,
        LED_ON,
        LED_BLINK,
} LedMode;

typedef struct LedPattern {
        LedMode mode;
        unsigned on_ms, off_ms;   /* LED_BLINK */
} LedPattern;

#define LED_PATTERN_OFF ((LedPattern) { LED_OFF, 0, 0 })
#define LED_PATTERN_ON ((LedPattern) { LED_ON, 0, 0 })
#define LED_PATTERN_BLINK(on, off) ((LedPattern) { LED_BLINK, (on), (off) })

typedef struct Led Led;

/* An LED that does not exist is not an error: dockd runs without LEDs. */
int led_new(const char *name, Led **ret);
Led *led_free(Led *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Led *, led_free);

/* Applies p unless it is what the LED shows already. */
int led_set(Led *l, LedPattern p);
const char *led_name(Led *l);
bool led_pattern_equal(LedPattern a, LedPattern b);
