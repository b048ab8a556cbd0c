/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-ops.c: see dockctl-ops.h. Both verbs ask dockd over D-Bus
 * (Reconcile, GetReconcileResult, SummarizeReports) and print its JSON answer,
 * or a short human reading of it. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "bus-names.h"
#include "dockctl-ops.h"
#include "macro.h"

/* A run over a large store takes as long as it takes: dockd answers when it ends. */
#define RECONCILE_CALL_TIMEOUT_USEC (24ULL * 3600 * USEC_PER_SEC)
#define SUMMARY_DEFAULT_DAYS 30

enum { EXIT_PROBLEMS = 1, EXIT_USAGE = 2, EXIT_NO_RESULT = 3 };

static inline void json_object_putp(struct json_object **p) {
        json_object_put(*p);
}

int dockctl_parse_date(const char *s, int64_t *ret) {
        struct tm tm = {}, check;
        const char *end;
        long off = 0;
        time_t t;

        end = strptime(s, "%Y-%m-%d", &tm);
        if (!end || end - s != 10)
                return -EINVAL;
        if (*end == 'T') {
                end = strptime(end + 1, "%H:%M:%S", &tm);
                if (!end)
                        return -EINVAL;
                if (*end == '.')   /* fractions of a second: dropped */
                        for (end++; *end >= '0' && *end <= '9'; end++)
                                ;
                if (*end == 'Z')
                        end++;
                else if ((*end == '+' || *end == '-') && strlen(end) == 6 && end[3] == ':') {
                        int h, m;
                        if (sscanf(end + 1, "%2d:%2d", &h, &m) != 2 || h > 23 || m > 59)
                                return -EINVAL;
                        off = (*end == '+' ? 1 : -1) * (h * 3600L + m * 60L);
                        end += 6;
                } else
                        return -EINVAL;
        }
        if (*end)
                return -EINVAL;
        check = tm;
        t = timegm(&tm);
        /* timegm() normalises 2026-02-30 to 2026-03-02: such a date is refused. */
        if (t == (time_t) -1 || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon ||
            tm.tm_year != check.tm_year || tm.tm_hour != check.tm_hour)
                return -EINVAL;
        *ret = (int64_t) t - off;
        return 0;
}

static int bus_open(sd_bus **ret) {
        int r = sd_bus_open_system(ret);

        if (r < 0)
                fprintf(stderr, "dockctl: cannot connect to the system bus: %s\n", strerror(-r));
        return r;
}

/* Call method (arguments: types and values) and parse its one string answer as JSON. */
static int call(sd_bus *bus, const char *method, uint64_t timeout, struct json_object **ret, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        const char *s;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, DOCKD_BUS_NAME, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, timeout, &error, &reply);
        sd_bus_message_unref(m);
        if (r < 0) {
                fprintf(stderr, "dockctl: %s failed: %s\n", method, error.message ?: strerror(-r));
                return r;
        }
        r = sd_bus_message_read(reply, "s", &s);
        if (r >= 0) {
                *ret = json_tokener_parse(s);
                if (!*ret && !streq(s, "null"))
                        r = -EBADMSG;
        }
        sd_bus_message_unref(reply);
        if (r < 0)
                fprintf(stderr, "dockctl: bad reply from dockd: %s\n", strerror(-r));
        return r;
}

static const char *str(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

static int64_t num(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* ---- reconcile ---- */

static int reconcile_print(struct json_object *res) {
        struct json_object *problems = json_object_object_get(res, "problems");
        struct json_object *findings = json_object_object_get(res, "findings");
        int64_t n_problems = 0;

        if (json_object_object_get(res, "error")) {
                printf("Reconciliation could not finish: %s\n", str(res, "error"));
                return EXIT_NO_RESULT;
        }
        json_object_object_foreach(problems, kind, v) {
                (void) kind;
                n_problems += json_object_get_int64(v);
        }
        printf("Reconciled %" PRId64 " objects (%" PRId64 " segments deleted from cameras) in %.1f s, %s backend: %s.\n",
               num(res, "objects"), num(res, "segments"),
               json_object_get_double(json_object_object_get(res, "duration_seconds")), str(res, "backend"),
               str(res, "method"));
        if (n_problems == 0)
                printf("All there: none missing, none altered.\n");
        else {
                printf("PROBLEMS: ");
                json_object_object_foreach(problems, k, c)
                        if (json_object_get_int64(c) > 0)
                                printf("%" PRId64 " %s  ", json_object_get_int64(c), k);
                printf("\n");
        }
        for (size_t i = 0; i < json_object_array_length(findings); i++) {
                struct json_object *f = json_object_array_get_idx(findings, i);
                printf("  %-10s %s (camera %s, segment %s): %s\n", str(f, "kind"), str(f, "key"), str(f, "camera"),
                       str(f, "segment"), str(f, "detail"));
        }
        if (num(res, "findings_truncated") > 0)
                printf("  … and %" PRId64 " more (dockctl reconcile --last --json)\n", num(res, "findings_truncated"));
        if (num(res, "unchecked") > 0)
                printf("%" PRId64 " object(s) could not be checked (see --json).\n", num(res, "unchecked"));
        if (!streq(str(res, "report"), "-"))
                printf("Integrity report %s filed for the supervisors.\n", str(res, "report"));
        return n_problems > 0 ? EXIT_PROBLEMS : 0;
}

static int verb_reconcile(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "last", no_argument, NULL, 'l' },
                {}
        };
        _cleanup_(json_object_putp) struct json_object *res = NULL;
        sd_bus *bus = NULL;
        bool json = false, last = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'l': last = true; break;
                default: return EXIT_USAGE;
                }
        if (bus_open(&bus) < 0)
                return EXIT_NO_RESULT;
        r = last ? call(bus, "GetReconcileResult", 0, &res, NULL)
                 : call(bus, "Reconcile", RECONCILE_CALL_TIMEOUT_USEC, &res, NULL);
        sd_bus_flush_close_unref(bus);
        if (r < 0)
                return EXIT_NO_RESULT;
        if (!res) {
                printf(json ? "null\n" : "No reconciliation has run yet.\n");
                return 0;
        }
        if (json) {
                printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY));
                if (json_object_object_get(res, "error"))
                        return EXIT_NO_RESULT;
                json_object_object_foreach(json_object_object_get(res, "problems"), k, v) {
                        (void) k;
                        if (json_object_get_int64(v) > 0)
                                return EXIT_PROBLEMS;
                }
                return 0;
        }
        return reconcile_print(res);
}

/* ---- reports --summary ---- */

static void summary_print(struct json_object *s) {
        struct json_object *cams = json_object_object_get(s, "by_camera");
        bool first = true;

        printf("Reports since %s until %s: %" PRId64 " reports, %zu cameras%s\n", str(s, "since"), str(s, "until"),
               num(s, "reports"), json_object_array_length(cams),
               json_object_get_boolean(json_object_object_get(s, "truncated")) ? " (TRUNCATED: too many reports)" : "");
        if (json_object_array_length(cams) == 0)
                return;
        printf("\n%-16s %-28s %6s\n", "CAMERA", "FINDING", "COUNT");
        for (size_t i = 0; i < json_object_array_length(cams); i++) {
                struct json_object *cam = json_object_array_get_idx(cams, i);
                json_object_object_foreach(json_object_object_get(cam, "findings"), code, n)
                        printf("%-16s %-28s %6" PRId64 "\n", str(cam, "camera"), code, json_object_get_int64(n));
        }
        printf("\nBy finding: ");
        json_object_object_foreach(json_object_object_get(s, "by_finding"), code, n) {
                printf("%s%s %" PRId64, first ? "" : ", ", code, json_object_get_int64(n));
                first = false;
        }
        printf("\n");
}

static void summary_csv(struct json_object *s) {
        struct json_object *cams = json_object_object_get(s, "by_camera");

        /* Serials and codes are validated names: no quoting is ever needed. */
        printf("camera,finding,count\n");
        for (size_t i = 0; i < json_object_array_length(cams); i++) {
                struct json_object *cam = json_object_array_get_idx(cams, i);
                json_object_object_foreach(json_object_object_get(cam, "findings"), code, n)
                        printf("%s,%s,%" PRId64 "\n", str(cam, "camera"), code, json_object_get_int64(n));
        }
}

static int verb_summary(int argc, char *argv[]) {
        static const struct option options[] = {
                { "summary", no_argument, NULL, 's' },
                { "since", required_argument, NULL, 'S' },
                { "until", required_argument, NULL, 'U' },
                { "json", no_argument, NULL, 'j' },
                { "csv", no_argument, NULL, 'c' },
                {}
        };
        _cleanup_(json_object_putp) struct json_object *res = NULL;
        int64_t since = (int64_t) time(NULL) - SUMMARY_DEFAULT_DAYS * 86400, until = 0;
        sd_bus *bus = NULL;
        bool json = false, csv = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's': break;
                case 'S':
                case 'U':
                        if (dockctl_parse_date(optarg, c == 'S' ? &since : &until) < 0) {
                                fprintf(stderr, "dockctl: %s: not a date (YYYY-MM-DD or RFC 3339): '%s'\n",
                                        c == 'S' ? "--since" : "--until", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'j': json = true; break;
                case 'c': csv = true; break;
                default: return EXIT_USAGE;
                }
        if (json && csv) {
                fprintf(stderr, "dockctl: --json and --csv exclude each other\n");
                return EXIT_USAGE;
        }
        if (since < 0 || until < 0) {
                fprintf(stderr, "dockctl: --since and --until must be after 1970\n");
                return EXIT_USAGE;
        }
        if (bus_open(&bus) < 0)
                return 1;
        r = call(bus, "SummarizeReports", 0, &res, "tt", (uint64_t) since, (uint64_t) until);
        sd_bus_flush_close_unref(bus);
        if (r < 0 || !res)
                return 1;
        if (json)
                printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY));
        else if (csv)
                summary_csv(res);
        else
                summary_print(res);
        return 0;
}

static bool has_arg(int argc, char *argv[], const char *arg) {
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], arg))
                        return true;
        return false;
}

int dockctl_ops_run(int argc, char *argv[]) {
        const char *verb = NULL;
        int i;

        for (i = 1; i < argc && !verb; i++)
                if (argv[i][0] != '-')
                        verb = argv[i];
        if (!verb)
                return -ENOENT;
        if (streq(verb, "reconcile") || (streq(verb, "reports") && has_arg(argc, argv, "--summary"))) {
                /* getopt sees the verb's options only: drop the verb itself. */
                char *args[argc + 1];
                int n = 0;
                for (int k = 0; k < argc; k++)
                        if (k != i - 1)
                                args[n++] = argv[k];
                args[n] = NULL;
                return streq(verb, "reconcile") ? verb_reconcile(n, args) : verb_summary(n, args);
        }
        return -ENOENT;
}
