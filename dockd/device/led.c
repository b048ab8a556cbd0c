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
        SysfsDevice dev;
        long long max_brightness;
        LedPattern current;
        bool known;
        bool warned;
};

const char *led_name(Led *l) {
        return l->dev.name;
}

bool led_pattern_equal(LedPattern a, LedPattern b) {
        if (a.mode != b.mode)
                return false;
        return a.mode != LED_BLINK || (a.on_ms == b.on_ms && a.off_ms == b.off_ms);
}

int led_new(const char *name, Led **ret) {
        _cleanup_free_ Led *l = calloc(1, sizeof *l);
        int r;

        if (!l)
                return -ENOMEM;
        r = sysfs_device_open("leds", name, &l->dev);
        if (r < 0)
                return r;
        if (sysfs_device_read_int(&l->dev, "max_brightness", &l->max_brightness) < 0 || l->max_brightness <= 0)
                l->max_brightness = 1;
        *ret = TAKE_PTR(l);
        return 0;
}

Led *led_free(Led *l) {
        if (!l)
                return NULL;
        sysfs_device_done(&l->dev);
        free(l);
        return NULL;
}

static int led_write(Led *l, const char *attr, const char *value) {
        return sysfs_device_write(&l->dev, attr, value);
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
                                          l->dev.name);
                }
                r = 0;
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return log_debug_errno(r, "LED %s: cannot set: %m", l->dev.name);
        l->current = p;
        l->known = true;
        return 0;
}
