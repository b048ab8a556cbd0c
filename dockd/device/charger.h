/* SPDX-License-Identifier: Apache-2.0 */
/* charger.h: a bay's charger, the power_supply device /sys/class/power_supply/NAME:
 * its readings, and charge control through charge_behaviour where writable. */
#pragma once

#include "macro.h"

typedef enum ChargerStatus {
        CHARGER_UNKNOWN,
        CHARGER_CHARGING,
        CHARGER_NOT_CHARGING,
        CHARGER_FULL,
        CHARGER_DISCHARGING,
} ChargerStatus;

typedef struct ChargerReading {
        ChargerStatus status;
        bool online;
        bool have_current, have_voltage, have_temp;
        int64_t current_ua;
        int64_t voltage_uv;
        int temp_decic;          /* 0.1 °C */
        char health[32];         /* "Good", "Overheat", … ("" if the driver has none) */
} ChargerReading;

typedef struct Charger Charger;

int charger_new(const char *name, Charger **ret);
Charger *charger_free(Charger *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Charger *, charger_free);

int charger_read(Charger *c, ChargerReading *ret);
/* inhibit-charge / auto; -EOPNOTSUPP if the charger has no charge control. */
int charger_set_inhibit(Charger *c, bool inhibit);
const char *charger_name(Charger *c);
const char *charger_status_to_string(ChargerStatus s);
/* Health values that mean "stop charging". */
bool charger_health_bad(const char *health);
