/* SPDX-License-Identifier: Apache-2.0 */
/* health.c: see health.h. The thresholds come from [health]; the policy clauses
 * are those of the department policy the product serves (seeds/003: body-worn
 * and dashboard cameras), quoted so that a supervisor reading a report sees why a
 * finding matters. */
#include <inttypes.h>

#include "health.h"
#include "manifest.h"

static const struct {
        const char *id;
        const char *section;
        const char *text;
} policies[] = {
        { "pre-shift-test", "D.1.b",
          "Prior to the beginning of each shift, the police officer shall test and perform an inspection to "
          "ensure that the camera has a properly charged battery and is functioning correctly." },
        { "do-not-use", "D.1.b(1)",
          "If problems are encountered with any component of the system, the camera shall not be used and the "
          "officer shall arrange for repair or replacement." },
        { "report-malfunction", "D.1.b(2), D.4",
          "Malfunctions shall be immediately reported to the on-duty shift supervisor; a malfunction or failure "
          "to record shall be documented and the supervisor notified." },
        { "download", "D.5.a",
          "Officers shall ensure that all files are securely downloaded and retained with sufficient frequency "
          "so as to ensure that there remains adequate data storage available for recording future incidents." },
        { "metadata", "C.4",
          "Digital multimedia video files include their metadata, such as date and time, captured as part of "
          "the recording." },
        { "preserve", "F.2.d",
          "Supervisors shall ensure that all video files are appropriately preserved in accordance with this "
          "policy." },
        { "approved-equipment", "B.1, D.1.a",
          "Only department issued or approved cameras and their media are used and handled under this policy." },
};

const char *policy_section(const char *id) {
        for (size_t i = 0; i < ELEMENTSOF(policies); i++)
                if (streq_ptr(policies[i].id, id))
                        return policies[i].section;
        return NULL;
}

const char *policy_text(const char *id) {
        for (size_t i = 0; i < ELEMENTSOF(policies); i++)
                if (streq_ptr(policies[i].id, id))
                        return policies[i].text;
        return NULL;
}

const char *severity_to_string(Severity s) {
        static const char *const names[] = { "info", "warning", "error", "critical" };
        return s < _SEVERITY_MAX ? names[s] : "unknown";
}

void findings_add(FindingList *l, const char *code, Severity severity, const char *policy,
                  struct json_object *measured, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        findings_addv(l, code, severity, policy, measured, fmt, ap);
        va_end(ap);
}

void findings_addv(FindingList *l, const char *code, Severity severity, const char *policy,
                   struct json_object *measured, const char *fmt, va_list ap) {
        Finding *n = realloc(l->items, (l->n + 1) * sizeof *n);
        char *summary = NULL;

        if (vasprintf(&summary, fmt, ap) < 0)
                summary = NULL;
        if (!n || !summary) {
                free(summary);
                json_object_put(measured);
                if (n)
                        l->items = n;
                return;
        }
        l->items = n;
        n[l->n++] = (Finding) {
                .code = strdup(code),
                .severity = severity,
                .summary = summary,
                .policy = policy,
                .measured = measured ?: json_object_new_object(),
        };
}

bool findings_has(const FindingList *l, const char *code) {
        for (size_t i = 0; i < l->n; i++)
                if (streq_ptr(l->items[i].code, code))
                        return true;
        return false;
}

Severity findings_max(const FindingList *l) {
        Severity m = SEVERITY_INFO;

        for (size_t i = 0; i < l->n; i++)
                m = MAX(m, l->items[i].severity);
        return m;
}

void findings_clear(FindingList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].code);
                free(l->items[i].summary);
                json_object_put(l->items[i].measured);
        }
        free(l->items);
        *l = (FindingList) {};
}

static bool code_in(const char *code, const char *const *codes) {
        for (; *codes; codes++)
                if (streq(code, *codes))
                        return true;
        return false;
}

size_t findings_remove(FindingList *l, const char *const *codes, size_t before) {
        size_t kept = 0, removed_before = 0;

        for (size_t i = 0; i < l->n; i++) {
                Finding *f = &l->items[i];

                if (!code_in(f->code, codes)) {
                        l->items[kept++] = *f;
                        continue;
                }
                if (i < before)
                        removed_before++;
                free(f->code);
                free(f->summary);
                json_object_put(f->measured);
        }
        l->n = kept;
        return removed_before;
}

void findings_take_from(FindingList *l, size_t from, FindingList *ret) {
        FindingList out = {};

        if (from < l->n) {
                out.items = calloc(l->n - from, sizeof *out.items);
                if (!out.items)
                        return;
                memcpy(out.items, l->items + from, (l->n - from) * sizeof *out.items);
                out.n = l->n - from;
                l->n = from;
        }
        *ret = out;
}

/* ---- checks ---- */

static struct json_object *obj(void) {
        return json_object_new_object();
}

static void put_int(struct json_object *o, const char *k, int64_t v) {
        json_object_object_add(o, k, json_object_new_int64(v));
}

void health_check_battery(const DockdConfig *c, const PtpBatteryTelemetry *t, FindingList *out) {
        unsigned health = t->design_mah ? (unsigned) ((uint64_t) t->full_charge_mah * 1000 / t->design_mah) : 0;
        struct json_object *m;

        if (t->design_mah > 0 && health < c->health_min_battery * 10) {
                m = obj();
                put_int(m, "full_charge_mah", t->full_charge_mah);
                put_int(m, "design_mah", t->design_mah);
                json_object_object_add(m, "health_percent", json_object_new_double(health / 10.0));
                put_int(m, "minimum_percent", c->health_min_battery);
                put_int(m, "cycle_count", t->cycle_count);
                findings_add(out, "battery-health", SEVERITY_ERROR, "pre-shift-test", m,
                             "Battery holds %u.%u%% of its design capacity (%" PRIu32 " of %" PRIu32
                             " mAh, %u cycles); the minimum is %u%%.",
                             health / 10, health % 10, t->full_charge_mah, t->design_mah, t->cycle_count,
                             c->health_min_battery);
        }
        if (t->flags & PTP_BATTERY_FAULT) {
                m = obj();
                put_int(m, "flags", t->flags);
                findings_add(out, "battery-fault", SEVERITY_ERROR, "pre-shift-test", m,
                             "The battery's fuel gauge reports a fault.");
        }
        if (t->temperature_decic > (int) c->health_max_charge_temp * 10) {
                m = obj();
                json_object_object_add(m, "temperature_celsius", json_object_new_double(t->temperature_decic / 10.0));
                put_int(m, "maximum_celsius", c->health_max_charge_temp);
                findings_add(out, "battery-temperature", SEVERITY_ERROR, "pre-shift-test", m,
                             "Battery temperature %.1f °C exceeds %u °C.", t->temperature_decic / 10.0,
                             c->health_max_charge_temp);
        }
}

void health_check_self_test(const PtpSelfTestResult *r, FindingList *out) {
        for (size_t i = 0; i < r->n_entries; i++) {
                const PtpSelfTestEntry *e = &r->entries[i];
                const char *name = ptp_self_test_component_to_string(e->component) ?: "component";
                struct json_object *m;
                char code[48];

                if (e->result != PTP_SELF_TEST_FAIL)
                        continue;
                m = obj();
                json_object_object_add(m, "component", json_object_new_string(name));
                put_int(m, "error_code", e->error_code);
                json_object_object_add(m, "detail", json_object_new_string(e->detail ?: ""));
                /* Storage errors have their own code: they threaten recordings. */
                snprintf(code, sizeof code, "%s", e->component == 3 ? "storage-errors" : "self-test");
                findings_add(out, code, SEVERITY_ERROR, "do-not-use", m,
                             "Self-test: %s failed (error 0x%" PRIx32 "%s%s).", name, e->error_code,
                             isempty(e->detail) ? "" : ": ", strempty(e->detail));
        }
}

void health_check_storage(const DockdConfig *c, uint64_t capacity, uint64_t used, FindingList *out) {
        struct json_object *m;
        unsigned pct;

        if (capacity == 0)
                return;
        pct = (unsigned) (used * 100 / capacity);
        if (pct < c->health_storage_nearly_full)
                return;
        m = obj();
        put_int(m, "capacity_bytes", (int64_t) capacity);
        put_int(m, "used_bytes", (int64_t) used);
        put_int(m, "used_percent", pct);
        put_int(m, "threshold_percent", c->health_storage_nearly_full);
        findings_add(out, "storage-nearly-full", SEVERITY_WARNING, "download", m,
                     "Camera storage is %u%% used after offloading (threshold %u%%): little room for the next "
                     "shift's recordings.", pct, c->health_storage_nearly_full);
}

/* A clock left as configured is the agency's choice, not a camera fault: a
 * warning, as a corrected one is; only one that could not be set is an error. */
void health_check_clock(const DockdConfig *c, int64_t drift, ClockOutcome outcome, FindingList *out) {
        static const char *const how[] = {
                [CLOCK_CORRECTED] = " (corrected)",
                [CLOCK_NOT_CORRECTED] = " and could not be corrected",
                [CLOCK_LEFT_AS_CONFIGURED] = " (not set: clock_set = no)",
        };
        bool corrected = outcome == CLOCK_CORRECTED;
        struct json_object *m;

        if ((uint64_t) llabs(drift) * USEC_PER_SEC <= c->clock_drift_threshold)
                return;
        m = obj();
        put_int(m, "drift_seconds", drift);
        put_int(m, "threshold_seconds", (int64_t) (c->clock_drift_threshold / USEC_PER_SEC));
        json_object_object_add(m, "corrected", json_object_new_boolean(corrected));
        if (outcome == CLOCK_LEFT_AS_CONFIGURED)
                json_object_object_add(m, "set_configured", json_object_new_boolean(false));
        findings_add(out, "clock-drift", outcome == CLOCK_NOT_CORRECTED ? SEVERITY_ERROR : SEVERITY_WARNING,
                     "metadata", m, "Camera clock was %s by %" PRId64 " s%s; recordings made before this docking "
                     "carry shifted timestamps.", drift > 0 ? "ahead" : "behind", (int64_t) llabs(drift),
                     how[outcome]);
}

ClockDecision health_clock_decision(bool set_configured, bool drift_known, int64_t drift, usec_t threshold,
                                    int dock_synchronised) {
        if (!set_configured || (drift_known && (uint64_t) llabs(drift) * USEC_PER_SEC <= threshold))
                return CLOCK_LEAVE;
        return dock_synchronised == 0 ? CLOCK_NOT_SET_UNSYNCHRONISED : CLOCK_SET;
}

void health_check_undocked(const DockdConfig *c, time_t last, time_t now, FindingList *out) {
        struct json_object *m;

        if (last <= 0 || now <= last || (usec_t) (now - last) * USEC_PER_SEC <= c->health_max_undocked)
                return;
        m = obj();
        put_int(m, "last_docked", last);
        put_int(m, "undocked_hours", (now - last) / 3600);
        put_int(m, "maximum_hours", (int64_t) (c->health_max_undocked / USEC_PER_SEC / 3600));
        findings_add(out, "missed-uploads", SEVERITY_WARNING, "download", m,
                     "Camera was last docked %.1f days ago; its recordings were not uploaded in time.",
                     (double) (now - last) / 86400);
}

/* ---- history ---- */

void camera_history_add_battery(CameraHistory *h, const BatterySample *s) {
        if (h->n_battery == CAMERA_HISTORY_MAX) {
                memmove(h->battery, h->battery + 1, (CAMERA_HISTORY_MAX - 1) * sizeof *h->battery);
                h->n_battery--;
        }
        h->battery[h->n_battery++] = *s;
}

/* Decline of 5 or more points across the recorded dockings, while still above
 * the minimum (below it, battery-health already says so). */
void health_check_battery_trend(const DockdConfig *c, const CameraHistory *h, FindingList *out) {
        const BatterySample *first, *last;
        struct json_object *m;

        if (h->n_battery < 3)
                return;
        first = &h->battery[0];
        last = &h->battery[h->n_battery - 1];
        if (last->health_permille < c->health_min_battery * 10 || first->health_permille < last->health_permille ||
            first->health_permille - last->health_permille < 50)
                return;
        m = obj();
        json_object_object_add(m, "from_percent", json_object_new_double(first->health_permille / 10.0));
        json_object_object_add(m, "to_percent", json_object_new_double(last->health_permille / 10.0));
        put_int(m, "dockings", (int64_t) h->n_battery);
        put_int(m, "since", first->time);
        findings_add(out, "battery-declining", SEVERITY_WARNING, "pre-shift-test", m,
                     "Battery health fell from %.1f%% to %.1f%% over the last %zu dockings; plan a replacement.",
                     first->health_permille / 10.0, last->health_permille / 10.0, h->n_battery);
}

struct json_object *camera_history_battery_json(const CameraHistory *h) {
        struct json_object *arr = json_object_new_array();

        for (size_t i = 0; i < h->n_battery; i++) {
                struct json_object *e = json_object_new_object();
                put_int(e, "time", h->battery[i].time);
                json_object_object_add(e, "health_percent", json_object_new_double(h->battery[i].health_permille / 10.0));
                put_int(e, "cycle_count", h->battery[i].cycles);
                json_object_array_add(arr, e);
        }
        return arr;
}
