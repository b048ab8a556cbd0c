/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-status.c: see dockctl-status.h. Every line is cut to 80 columns
 * after escaping: a camera's string never widens the summary. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-names.h"
#include "dockctl-status.h"
#include "dockctl-text.h"
#include "macro.h"

#define COLUMNS 80

static void escape_tree(struct json_object *o) {
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, val) {
                        (void) key;
                        escape_tree(val);
                }
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        escape_tree(json_object_array_get_idx(o, i));
        } else if (json_object_is_type(o, json_type_string)) {
                _cleanup_free_ char *c = text_escape(json_object_get_string(o));

                if (c)
                        json_object_set_string(o, c);
                else
                        json_object_set_string(o, "?");
        }
}

int dockctl_call_json(sd_bus *bus, const char *method, bool escape, struct json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;
        int r;

        r = sd_bus_call_method(bus, DOCKD_BUS_NAME, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE, method, &error, &reply, "");
        if (r < 0) {
                _cleanup_free_ char *msg = text_escape(error.message ?: strerror(-r));

                fprintf(stderr, "dockctl: %s failed: %s\n", method, msg ?: "?");
                return r;
        }
        r = sd_bus_message_read(reply, "s", &s);
        if (r >= 0) {
                *ret = json_tokener_parse(s);
                if (!*ret)
                        r = -EBADMSG;
                else if (escape)
                        escape_tree(*ret);
        }
        if (r < 0)
                fprintf(stderr, "dockctl: bad reply from dockd: %s\n", strerror(-r));
        return r;
}

/* ---- reading the document ---- */

static struct json_object *member(struct json_object *o, const char *key) {
        struct json_object *v;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *string_of(struct json_object *o, const char *key) {
        struct json_object *v = member(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static uint64_t u64_of(struct json_object *o, const char *key) {
        struct json_object *v = member(o, key);
        int64_t n = v ? json_object_get_int64(v) : 0;

        return n > 0 ? (uint64_t) n : 0;
}

static bool bool_of(struct json_object *o, const char *key) {
        struct json_object *v = member(o, key);

        return v && json_object_get_boolean(v);
}

static void print_line(char *line) {
        text_fit(line, COLUMNS);
        printf("%s\n", line);
}

/* "2026-12-02 04:30:12 (5 min ago)" for seconds since the epoch. */
static const char *when(uint64_t t, char *buf, size_t size) {
        time_t now = time(NULL);
        char date[32], age[32];

        text_local_time(t * 1000000, date, sizeof date);
        if ((uint64_t) now >= t)
                snprintf(buf, size, "%s (%s ago)", date, text_age((uint64_t) now - t, age, sizeof age));
        else
                snprintf(buf, size, "%s (in the future)", date);
        return buf;
}

/* The finding that matters most: the highest severity, the first of those. */
static struct json_object *worst_finding(struct json_object *bay) {
        static const char *const order[] = { "info", "warning", "error", "critical" };
        struct json_object *fs = member(bay, "findings"), *worst = NULL;
        int worst_rank = -1;

        for (size_t i = 0; fs && i < json_object_array_length(fs); i++) {
                struct json_object *f = json_object_array_get_idx(fs, i);
                const char *sev = string_of(f, "severity");
                int rank = 0;

                for (int k = 0; sev && k < (int) ELEMENTSOF(order); k++)
                        if (streq(sev, order[k]))
                                rank = k;
                if (rank > worst_rank) {
                        worst = f;
                        worst_rank = rank;
                }
        }
        return worst;
}

/* "42% 13.4 MiB of 32.0 MiB" */
static void progress_text(struct json_object *p, char *buf, size_t size) {
        uint64_t done = u64_of(p, "bytes_done"), total = u64_of(p, "bytes_total");
        char a[32], b[32];

        if (total > 0)
                snprintf(buf, size, "%" PRIu64 "%% %s of %s", MIN(done, total) * 100 / total,
                         text_iec(done, a, sizeof a), text_iec(total, b, sizeof b));
        else
                snprintf(buf, size, "segment %" PRIu64 " of %" PRIu64, u64_of(p, "segments_done"),
                         u64_of(p, "segments_total"));
}

/* ---- dockctl status ---- */

static void status_bay_line(struct json_object *bay, bool colour) {
        const char *state = string_of(bay, "state") ?: "?", *camera = string_of(bay, "camera");
        const char *c = colour ? text_state_colour(state) : "";
        struct json_object *p = member(bay, "progress"), *f = worst_finding(bay);
        char line[1024], detail[512] = "";

        if (p && streq(state, "offloading"))
                progress_text(p, detail, sizeof detail);
        if (p && bool_of(p, "waiting_for_storage"))
                snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%swaiting for storage",
                         detail[0] ? ", " : "");
        else if (p && bool_of(p, "spool_full"))
                snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%swaiting for spool space",
                         detail[0] ? ", " : "");
        if (f)
                snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s%s: %s", detail[0] ? "; " : "",
                         string_of(f, "code") ?: "?", string_of(f, "summary") ?: "");
        else if (string_of(bay, "fault"))
                snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s%s", detail[0] ? "; " : "",
                         string_of(bay, "fault"));
        else if (string_of(member(bay, "generic"), "note"))   /* a camera that does not sign, surveyed */
                snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%s%s", detail[0] ? "; " : "",
                         string_of(member(bay, "generic"), "note"));
        /* The colour goes around the state only: cut the plain line, then colour it. */
        snprintf(line, sizeof line, "%3" PRIu64 "  %-11s %-11s %s", u64_of(bay, "bay"), state, camera ?: "-", detail);
        text_fit(line, COLUMNS);
        if (c[0] && strlen(line) >= 16)
                printf("%.5s%s%.11s\x1b[0m%s\n", line, c, line + 5, line + 16);
        else
                printf("%s\n", line);
}

/* ReportsPending and OldestUnconfirmedTimestamp, which the JSON document lacks. */
static void backlog_extra(sd_bus *bus, uint32_t *ret_reports, uint64_t *ret_oldest_usec) {
        _cleanup_(sd_bus_error_free) sd_bus_error e1 = SD_BUS_ERROR_NULL, e2 = SD_BUS_ERROR_NULL;

        *ret_reports = 0;
        *ret_oldest_usec = 0;
        (void) sd_bus_get_property_trivial(bus, DOCKD_BUS_NAME, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE, "ReportsPending",
                                           &e1, 'u', ret_reports);
        (void) sd_bus_get_property_trivial(bus, DOCKD_BUS_NAME, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE,
                                           "OldestUnconfirmedTimestamp", &e2, 't', ret_oldest_usec);
}

static void status_head(sd_bus *bus, struct json_object *o, bool colour) {
        struct json_object *st = member(o, "storage"), *sp = member(o, "spool");
        const char *bold = colour ? "\x1b[1m" : "", *red = colour ? "\x1b[31m" : "", *green = colour ? "\x1b[32m" : "",
                   *off = colour ? "\x1b[0m" : "";
        char line[1024], a[32], b[32], t[96];
        uint64_t oldest;
        uint32_t reports;

        snprintf(line, sizeof line, "Dock %s (dockd %s)", string_of(o, "dock") ?: "?", string_of(o, "version") ?: "?");
        text_fit(line, COLUMNS);
        printf("%s%s%s\n", bold, line, off);
        if (bool_of(st, "failing")) {
                snprintf(line, sizeof line, "failing: %s", string_of(st, "last_error") ?: "no answer");
                text_fit(line, COLUMNS - 10 - strlen(string_of(st, "backend") ?: "?"));
                printf("Storage: %s, %s%s%s\n", string_of(st, "backend") ?: "?", red, line, off);
        } else
                printf("Storage: %s, %shealthy%s\n", string_of(st, "backend") ?: "?", green, off);
        if (sp) {
                snprintf(line, sizeof line, "Spool:   %s of %s used%s", text_iec(u64_of(sp, "bytes"), a, sizeof a),
                         text_iec(u64_of(sp, "quota"), b, sizeof b), bool_of(sp, "full") ? ", FULL: pulls paused" : "");
                print_line(line);
        }
        backlog_extra(bus, &reports, &oldest);
        snprintf(line, sizeof line, "Backlog: %" PRIu64 " upload%s, %s unconfirmed; %" PRIu32 " report%s pending",
                 u64_of(st, "queued"), u64_of(st, "queued") == 1 ? "" : "s",
                 text_iec(u64_of(st, "bytes_pending"), a, sizeof a), reports, reports == 1 ? "" : "s");
        print_line(line);
        if (oldest > 0) {
                snprintf(line, sizeof line, "         oldest unconfirmed segment pulled %s",
                         when(oldest / 1000000, t, sizeof t));
                print_line(line);
        }
}

int dockctl_status(sd_bus *bus, bool json, bool colour) {
        struct json_object *o = NULL, *bays;
        int r = dockctl_call_json(bus, "GetStatus", !json, &o);

        if (r < 0)
                return r;
        if (json) {
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
                json_object_put(o);
                return 0;
        }
        status_head(bus, o, colour);
        printf("\n%sBAY  STATE       CAMERA      PROGRESS, FINDING%s\n", colour ? "\x1b[1m" : "", colour ? "\x1b[0m" : "");
        bays = member(o, "bays");
        for (size_t i = 0; bays && i < json_object_array_length(bays); i++)
                status_bay_line(json_object_array_get_idx(bays, i), colour);
        json_object_put(o);
        return 0;
}

/* ---- dockctl bay N ---- */

static void detail_line(const char *label, const char *value) {
        char line[1024];

        snprintf(line, sizeof line, "  %-10s %s", label, value);
        print_line(line);
}

/* A camera that does not sign: its standard BatteryLevel and DateTime, or that
 * it does not offer them. */
static void generic_health_lines(struct json_object *g) {
        char v[96];

        if (!g)
                return;
        if (member(g, "battery_percent"))
                snprintf(v, sizeof v, "%" PRIu64 "%% charge", u64_of(g, "battery_percent"));
        else
                snprintf(v, sizeof v, "not offered by the camera");
        detail_line("Battery:", v);
        if (member(g, "clock_drift_seconds"))
                snprintf(v, sizeof v, "%+" PRId64 " s off, %s", json_object_get_int64(member(g, "clock_drift_seconds")),
                         strna(string_of(g, "clock")));
        else
                snprintf(v, sizeof v, "not offered by the camera");
        detail_line("Clock:", v);
}

static void bay_detail(struct json_object *bay, bool colour) {
        const char *state = string_of(bay, "state") ?: "?", *c = colour ? text_state_colour(state) : "";
        struct json_object *p = member(bay, "progress"), *fs = member(bay, "findings"), *s = member(bay, "summary");
        char v[512], t[96];

        printf("Bay %" PRIu64 ": %s%s%s\n", u64_of(bay, "bay"), c, state, c[0] ? "\x1b[0m" : "");
        detail_line("Port:", string_of(bay, "port") ?: "-");
        if (string_of(bay, "fault"))
                detail_line("Fault:", string_of(bay, "fault"));
        if (string_of(member(bay, "generic"), "note"))
                detail_line("Generic:", string_of(member(bay, "generic"), "note"));
        if (!string_of(bay, "camera")) {
                detail_line("Camera:", "none");
                return;
        }
        snprintf(v, sizeof v, "%s%s", string_of(bay, "camera"), bool_of(bay, "connected") ? "" : " (not connected)");
        detail_line("Camera:", v);
        detail_line("Model:", string_of(bay, "model") ?: "-");
        detail_line("Firmware:", string_of(bay, "firmware") ?: "-");
        /* Only a signed, verified manifest names the officer. */
        detail_line("Officer:", string_of(bay, "officer_id") ?: "not known yet");
        detail_line("Docked:", when(u64_of(bay, "docked_at"), t, sizeof t));
        if (member(bay, "battery_health_percent")) {
                snprintf(v, sizeof v, "health %.0f%%%s", json_object_get_double(member(bay, "battery_health_percent")),
                         bool_of(bay, "charged") ? ", charged" : "");
                detail_line("Battery:", v);
        }
        generic_health_lines(member(bay, "generic"));
        if (string_of(bay, "self_test")) {
                /* "not-supported": a camera that does not sign; never shown as passed */
                snprintf(v, sizeof v, "%s", string_of(bay, "self_test"));
                for (char *q = v; *q; q++)
                        if (*q == '-')
                                *q = ' ';
                detail_line("Self-test:", v);
        }
        if (p) {
                progress_text(p, v, sizeof v);
                snprintf(v + strlen(v), sizeof v - strlen(v), ", %" PRIu64 " of %" PRIu64 " segments done%s",
                         u64_of(p, "segments_done"), u64_of(p, "segments_total"),
                         bool_of(p, "waiting_for_storage") ? ", waiting for central storage"
                         : bool_of(p, "spool_full") ? ", waiting for spool space" : "");
                detail_line("Progress:", v);
                if (string_of(p, "segment"))
                        detail_line("Segment:", string_of(p, "segment"));
        }
        if (s) {
                snprintf(v, sizeof v, "%" PRIu64 " pulled, %" PRIu64 " quarantined, %" PRIu64 " deleted, %" PRIu64
                         " recording(s) held", u64_of(s, "pulled"), u64_of(s, "quarantined"), u64_of(s, "deleted"),
                         u64_of(s, "held_recordings"));
                detail_line("Offload:", v);
        }
        if (string_of(bay, "report"))
                detail_line("Report:", string_of(bay, "report"));
        if (!fs || json_object_array_length(fs) == 0) {
                detail_line("Findings:", "none");
                return;
        }
        printf("  Findings:\n");
        for (size_t i = 0; i < json_object_array_length(fs); i++) {
                struct json_object *f = json_object_array_get_idx(fs, i);
                char line[1024];

                snprintf(line, sizeof line, "    %s (%s): %s", string_of(f, "code") ?: "?",
                         string_of(f, "severity") ?: "?", string_of(f, "summary") ?: "");
                print_line(line);
        }
}

int dockctl_bay(sd_bus *bus, const char *arg, bool json, bool colour) {
        struct json_object *arr = NULL, *found = NULL;
        char *end;
        unsigned long n;
        int r;

        errno = 0;
        n = strtoul(arg, &end, 10);
        if (errno != 0 || end == arg || *end || n < 1 || arg[0] == '-' || arg[0] == '+') {
                fprintf(stderr, "dockctl: '%s' is not a bay number.\n", arg);
                return -EINVAL;
        }
        r = dockctl_call_json(bus, "ListBays", !json, &arr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(arr); i++)
                if (u64_of(json_object_array_get_idx(arr, i), "bay") == n)
                        found = json_object_array_get_idx(arr, i);
        if (!found) {
                fprintf(stderr, "dockctl: there is no bay %lu (the dock has %zu).\n", n, json_object_array_length(arr));
                json_object_put(arr);
                return -ENOENT;
        }
        if (json)
                printf("%s\n", json_object_to_json_string_ext(found, JSON_C_TO_STRING_PRETTY));
        else
                bay_detail(found, colour);
        json_object_put(arr);
        return 0;
}
