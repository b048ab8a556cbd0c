/* SPDX-License-Identifier: Apache-2.0 */
/* report-summary.c: see report-summary.h. Both report schemas are counted:
 * a malfunction report's findings belong to its camera, a reconciliation
 * report's findings each name their own camera. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "macro.h"
#include "report-summary.h"

#define REPORT_FILE_MAX (1 * MiB)

static inline void json_object_putp(json_object **p) {
        json_object_put(*p);
}

/* "20261122T061403Z-…" → seconds, or -1. */
static int64_t name_time(const char *name) {
        struct tm tm = {};
        const char *end = strptime(name, "%Y%m%dT%H%M%SZ-", &tm);

        return end && end - name == 17 ? (int64_t) timegm(&tm) : -1;
}

static void format_time(int64_t t, char buf[static 32]) {
        time_t tt = (time_t) t;
        struct tm tm;

        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
}

static void add(json_object *counts, const char *key, int64_t n) {
        json_object *v;

        if (json_object_object_get_ex(counts, key, &v))
                json_object_set_int64(v, json_object_get_int64(v) + n);
        else
                json_object_object_add(counts, key, json_object_new_int64(n));
}

typedef struct Tally {
        json_object *cameras;      /* serial → { camera, reports, findings{} } */
        json_object *findings, *severities;
        size_t reports;
} Tally;

static void tally_done(Tally *t) {
        json_object_put(t->cameras);
        json_object_put(t->findings);
        json_object_put(t->severities);
}

static json_object *camera_entry(Tally *t, const char *serial) {
        json_object *c;

        if (json_object_object_get_ex(t->cameras, serial, &c))
                return c;
        c = json_object_new_object();
        json_object_object_add(c, "camera", json_object_new_string(serial));
        json_object_object_add(c, "reports", json_object_new_int64(0));
        json_object_object_add(c, "findings", json_object_new_object());
        json_object_object_add(t->cameras, serial, c);
        return c;
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static void count_report(Tally *t, json_object *rep) {
        json_object *cam = json_object_object_get(rep, "camera"), *findings = json_object_object_get(rep, "findings");
        const char *serial = cam ? get_str(cam, "serial") : NULL, *sev = get_str(rep, "severity");

        t->reports++;
        if (sev)
                add(t->severities, sev, 1);
        if (serial)
                add(camera_entry(t, serial), "reports", 1);
        for (size_t i = 0; i < json_object_array_length(findings); i++) {
                json_object *f = json_object_array_get_idx(findings, i);
                const char *code = get_str(f, "code"), *own = get_str(f, "camera") ?: serial;
                if (!code)
                        continue;
                add(t->findings, code, 1);
                if (own)
                        add(json_object_object_get(camera_entry(t, own), "findings"), code, 1);
        }
}

static int json_filter(const struct dirent *d) {
        return d->d_name[0] != '.' && endswith(d->d_name, ".json") != NULL;
}

static int name_sort(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int camera_cmp(const void *a, const void *b) {
        json_object *const *x = a, *const *y = b;
        return strcmp(get_str(*x, "camera"), get_str(*y, "camera"));
}

/* Read and count one report file if it was filed in [since, until). */
static void count_file(Tally *t, const char *dir, const char *name) {
        _cleanup_free_ char *path = path_join(dir, name), *text = NULL;
        _cleanup_(json_object_putp) json_object *rep = NULL;

        if (!path || read_full_file(path, REPORT_FILE_MAX, &text, NULL) < 0)
                return;
        rep = json_tokener_parse(text);
        if (rep && json_object_is_type(rep, json_type_object))
                count_report(t, rep);
}

static char *summary_json(Tally *t, int64_t since, int64_t until, bool truncated, int64_t last) {
        _cleanup_(json_object_putp) json_object *doc = json_object_new_object();
        json_object *arr = json_object_new_array();
        char buf[32];

        json_object_object_foreach(t->cameras, k, v) {
                (void) k;
                json_object_array_add(arr, json_object_get(v));
        }
        json_object_array_sort(arr, camera_cmp);
        format_time(since, buf);
        json_object_object_add(doc, "since", json_object_new_string(buf));
        format_time(until ? until : (int64_t) time(NULL), buf);
        json_object_object_add(doc, "until", json_object_new_string(buf));
        json_object_object_add(doc, "reports", json_object_new_int64((int64_t) t->reports));
        json_object_object_add(doc, "truncated", json_object_new_boolean(truncated));
        if (truncated) {
                format_time(last, buf);
                json_object_object_add(doc, "counted_until", json_object_new_string(buf));
        }
        json_object_object_add(doc, "by_camera", arr);
        json_object_object_add(doc, "by_finding", json_object_get(t->findings));
        json_object_object_add(doc, "by_severity", json_object_get(t->severities));
        return strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
}

int report_summary_build(const char *reports_dir, int64_t since, int64_t until, size_t max, char **ret_json) {
        Tally t = { json_object_new_object(), json_object_new_object(), json_object_new_object(), 0 };
        struct dirent **names = NULL;
        int64_t last = since;
        bool truncated = false;
        int n = scandir(reports_dir, &names, json_filter, name_sort);

        if (n < 0) {
                tally_done(&t);
                return -errno;
        }
        /* Names sort by filing time: the range is chosen without opening a file. */
        for (int i = 0; i < n; i++) {
                int64_t when = name_time(names[i]->d_name);
                if (when >= since && (until == 0 || when < until) && !truncated) {
                        if (t.reports >= max)
                                truncated = true;
                        else {
                                count_file(&t, reports_dir, names[i]->d_name);
                                last = when;
                        }
                }
                free(names[i]);
        }
        free(names);
        *ret_json = summary_json(&t, since, until, truncated, last);
        tally_done(&t);
        return *ret_json ? 0 : -ENOMEM;
}
