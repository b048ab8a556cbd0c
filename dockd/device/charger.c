/* SPDX-License-Identifier: Apache-2.0 */
/* charger.c: see charger.h. Values are the kernel's power_supply ABI
 * (Documentation/ABI/testing/sysfs-class-power): µA, µV, tenths of °C. */
#include <sys/stat.h>

#include "charger.h"
#include "sysfs.h"

struct Charger {
        char *name;
        char *dir;
};

const char *charger_name(Charger *c) {
        return c->name;
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
        _cleanup_free_ char *dir = NULL;
        struct stat st;
        Charger *c;

        if (asprintf(&dir, "/sys/class/power_supply/%s", name) < 0)
                return -ENOMEM;
        if (stat(dir, &st) < 0)
                return -errno;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->name = strdup(name);
        c->dir = TAKE_PTR(dir);
        if (!c->name) {
                charger_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

Charger *charger_free(Charger *c) {
        if (!c)
                return NULL;
        free(c->name);
        free(c->dir);
        free(c);
        return NULL;
}

static char *attr(Charger *c, const char *name) {
        char *p;
        return asprintf(&p, "%s/%s", c->dir, name) < 0 ? NULL : p;
}

static bool read_ll(Charger *c, const char *name, long long *ret) {
        _cleanup_free_ char *p = attr(c, name);
        return p && sysfs_read_int(p, ret) >= 0;
}

int charger_read(Charger *c, ChargerReading *ret) {
        _cleanup_free_ char *sp = attr(c, "status"), *hp = attr(c, "health"), *status = NULL, *health = NULL;
        ChargerReading r = {};
        long long v;
        int k;

        if (!sp || !hp)
                return -ENOMEM;
        k = sysfs_read(sp, &status);
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
        if (sysfs_read(hp, &health) >= 0)
                snprintf(r.health, sizeof r.health, "%s", health);
        *ret = r;
        return 0;
}

int charger_set_inhibit(Charger *c, bool inhibit) {
        _cleanup_free_ char *p = attr(c, "charge_behaviour");
        struct stat st;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0)
                return errno == ENOENT ? -EOPNOTSUPP : -errno;
        return sysfs_write(p, inhibit ? "inhibit-charge" : "auto");
}
