/* SPDX-License-Identifier: Apache-2.0 */
/* charger.c: see charger.h. Values are the kernel's power_supply ABI
 * (Documentation/ABI/testing/sysfs-class-power): µA, µV, tenths of °C. */
#include <sys/stat.h>

#include "charger.h"
#include "sysfs.h"

struct Charger {
        SysfsDevice dev;
};

const char *charger_name(Charger *c) {
        return c->dev.name;
}

const char *charger_status_to_string(ChargerStatus s) {
        static const char *const names[] = { "unknown", "charging", "not-charging", "full", "discharging" };
        return s <= CHARGER_DISCHARGING ? names[s] : "unknown";
}

bool charger_health_bad(const char *health) {
        static const char *const bad[] = {
                "Overheat", "Dead", "Over voltage", "Unspecified failure", "Cold",
                "Watchdog timer expire", "Safety timer expire", "Over current", "Calibration required",
                "Warm", "Hot",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (streq(health, bad[i]))
                        return true;
        return false;
}

int charger_new(const char *name, Charger **ret) {
        _cleanup_free_ Charger *c = calloc(1, sizeof *c);
        int r;

        if (!c)
                return -ENOMEM;
        r = sysfs_device_open("power_supply", name, &c->dev);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

Charger *charger_free(Charger *c) {
        if (!c)
                return NULL;
        sysfs_device_done(&c->dev);
        free(c);
        return NULL;
}

static bool read_ll(Charger *c, const char *name, long long *ret) {
        return sysfs_device_read_int(&c->dev, name, ret) >= 0;
}

int charger_read(Charger *c, ChargerReading *ret) {
        _cleanup_free_ char *status = NULL, *health = NULL;
        ChargerReading r = {};
        long long v;
        int k;

        k = sysfs_device_read(&c->dev, "status", &status);
        if (k < 0)
                return k;
        r.status = streq(status, "Charging") ? CHARGER_CHARGING
                   : streq(status, "Not charging") ? CHARGER_NOT_CHARGING
                   : streq(status, "Full") ? CHARGER_FULL
                   : streq(status, "Discharging") ? CHARGER_DISCHARGING : CHARGER_UNKNOWN;
        r.online = read_ll(c, "online", &v) && v > 0;
        if ((r.have_current = read_ll(c, "current_now", &v)))
                r.current_ua = v;
        if ((r.have_voltage = read_ll(c, "voltage_now", &v)))
                r.voltage_uv = v;
        if ((r.have_temp = read_ll(c, "temp", &v)) && v > -1000 && v < 2000)
                r.temp_decic = (int) v;
        else
                r.have_temp = false;
        if (sysfs_device_read(&c->dev, "health", &health) >= 0)
                snprintf(r.health, sizeof r.health, "%s", health);
        *ret = r;
        return 0;
}

int charger_set_inhibit(Charger *c, bool inhibit) {
        _cleanup_free_ char *p = sysfs_device_attr(&c->dev, "charge_behaviour");
        struct stat st;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0)
                return errno == ENOENT ? -EOPNOTSUPP : -errno;
        return sysfs_write(p, inhibit ? "inhibit-charge" : "auto");
}
