/* SPDX-License-Identifier: Apache-2.0 */
/* led.c: see led.h. Blinking uses the "timer" trigger with delay_on/delay_off,
 * so the kernel keeps blinking if dockd stalls or dies. Those two attributes only
 * exist while the trigger is active and belong to root unless udev says
 * otherwise: when they cannot be written, the LED blinks at the kernel's default
 * rate (500/500 ms), which is logged once. */
#include <sys/stat.h>

#include "led.h"
#include "log.h"
#include "sysfs.h"

struct Led {
        char *name;
        char *dir;
        long long max_brightness;
        LedPattern current;
        bool known;
        bool warned;
};

const char *led_name(Led *l) {
        return l->name;
}

bool led_pattern_equal(LedPattern a, LedPattern b) {
        if (a.mode != b.mode)
                return false;
        return a.mode != LED_BLINK || (a.on_ms == b.on_ms && a.off_ms == b.off_ms);
}

int led_new(const char *name, Led **ret) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        Led *l;

        if (asprintf(&path, "/sys/class/leds/%s", name) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0)
                return -errno;
        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->name = strdup(name);
        l->dir = TAKE_PTR(path);
        if (!l->name) {
                led_free(l);
                return -ENOMEM;
        }
        {
                _cleanup_free_ char *mb = NULL;
                if (asprintf(&mb, "%s/max_brightness", l->dir) >= 0 && sysfs_read_int(mb, &l->max_brightness) < 0)
                        l->max_brightness = 1;
                if (l->max_brightness <= 0)
                        l->max_brightness = 1;
        }
        *ret = l;
        return 0;
}

Led *led_free(Led *l) {
        if (!l)
                return NULL;
        free(l->name);
        free(l->dir);
        free(l);
        return NULL;
}

static int led_write(Led *l, const char *attr, const char *value) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", l->dir, attr) < 0)
                return -ENOMEM;
        return sysfs_write(p, value);
}

int led_set(Led *l, LedPattern p) {
        char buf[32];
        int r;

        if (!l || (l->known && led_pattern_equal(l->current, p)))
                return 0;
        switch (p.mode) {
        case LED_OFF:
                r = led_write(l, "trigger", "none");
                if (r >= 0)
                        r = led_write(l, "brightness", "0");
                break;
        case LED_ON:
                snprintf(buf, sizeof buf, "%lld", l->max_brightness);
                r = led_write(l, "trigger", "none");
                if (r >= 0)
                        r = led_write(l, "brightness", buf);
                break;
        case LED_BLINK:
                r = led_write(l, "trigger", "timer");
                if (r < 0)
                        break;
                snprintf(buf, sizeof buf, "%u", p.on_ms);
                r = led_write(l, "delay_on", buf);
                if (r >= 0) {
                        snprintf(buf, sizeof buf, "%u", p.off_ms);
                        r = led_write(l, "delay_off", buf);
                }
                if (r < 0 && !l->warned) {
                        l->warned = true;
                        log_warning_errno(r, "LED %s: cannot set the blink rate (%m); it blinks at the kernel's default.",
                                          l->name);
                }
                r = 0;
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return log_debug_errno(r, "LED %s: cannot set: %m", l->name);
        l->current = p;
        l->known = true;
        return 0;
}
