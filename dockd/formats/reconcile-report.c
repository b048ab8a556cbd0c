/* SPDX-License-Identifier: Apache-2.0 */
/* reconcile-report.c: see reconcile-report.h. Field order and names are the
 * schema: change them only with a new schema_version. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "reconcile-report.h"

static const char *const run_fields[] = {
        "id", "trigger", "started", "finished", "duration_seconds", "backend", "method",
        "segments", "objects", "ok", "unchecked",
};

static const char *str(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static const char *kind_summary(const char *kind) {
        return streq(kind, "missing") ? "is not in central storage"
               : streq(kind, "altered") ? "in central storage is not the object it confirmed"
               : streq(kind, "retention") ? "has less retention in central storage than policy gave it"
               : "has lost its legal hold in central storage";
}

static struct json_object *finding_json(struct json_object *f) {
        struct json_object *o = json_object_new_object(), *p = json_object_new_object();
        const char *kind = strempty(str(f, "kind")), *key = strempty(str(f, "key"));
        _cleanup_free_ char *summary = NULL;
        char code[48];

        snprintf(code, sizeof code, "object-%s", kind);
        if (asprintf(&summary, "%s %s.", key, kind_summary(kind)) < 0)
                summary = NULL;
        json_object_object_add(o, "code", json_object_new_string(code));
        json_object_object_add(o, "severity", json_object_new_string("critical"));
        json_object_object_add(o, "summary", json_object_new_string(strempty(summary)));
        json_object_object_add(o, "camera", json_object_get(json_object_object_get(f, "camera")));
        json_object_object_add(o, "segment", json_object_get(json_object_object_get(f, "segment")));
        json_object_object_add(o, "key", json_object_new_string(key));
        json_object_object_add(o, "expected", json_object_get(json_object_object_get(f, "expected")));
        json_object_object_add(o, "found", json_object_get(json_object_object_get(f, "found")));
        json_object_object_add(o, "detail", json_object_get(json_object_object_get(f, "detail")));
        json_object_object_add(p, "document", json_object_new_string("Body-worn and dashboard camera policy"));
        json_object_object_add(p, "section", json_object_new_string(strna(policy_section("preserve"))));
        json_object_object_add(p, "text", json_object_new_string(strempty(policy_text("preserve"))));
        json_object_object_add(o, "policy", p);
        return o;
}

static char *render_text(struct json_object *doc, struct json_object *result) {
        struct json_object *findings = json_object_object_get(doc, "findings");
        int64_t more = json_object_get_int64(json_object_object_get(result, "findings_truncated"));
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return NULL;
        fprintf(f, "INTEGRITY REPORT: central storage reconciliation, dock %s, %s.\n", strna(str(doc, "dock")),
                strna(str(doc, "time")));
        fprintf(f, "%s\nA supervisor must review it (policy %s).\n\n", strna(str(doc, "summary")),
                strna(policy_section("preserve")));
        for (size_t i = 0; i < json_object_array_length(findings); i++) {
                struct json_object *x = json_object_array_get_idx(findings, i);
                fprintf(f, "- %s: camera %s, segment %s: %s\n", strna(str(x, "code")), strna(str(x, "camera")),
                        strna(str(x, "segment")), strna(str(x, "summary")));
        }
        if (more > 0)
                fprintf(f, "- and %" PRId64 " more (dockctl reconcile --last --json on the dock).\n", more);
        fprintf(f, "\nReport %s, reconciliation run %s.\n", strna(str(doc, "id")), strna(str(result, "id")));
        fclose(f);
        return out;
}

static int summary_of(struct json_object *result, char **ret) {
        int64_t n = 0;
        char parts[160] = "";

        json_object_object_foreach(json_object_object_get(result, "problems"), kind, v) {
                int64_t c = json_object_get_int64(v);
                size_t l = strlen(parts);
                if (c <= 0)
                        continue;
                n += c;
                snprintf(parts + l, sizeof parts - l, "%s%" PRId64 " %s", l ? ", " : "", c, kind);
        }
        return asprintf(ret, "%" PRId64 " of %" PRId64 " objects this dock deleted from cameras %s not in central "
                        "storage as confirmed: %s.", n, json_object_get_int64(json_object_object_get(result, "objects")),
                        n == 1 ? "is" : "are", parts) < 0 ? -ENOMEM : 0;
}

static struct json_object *report_json(struct json_object *result, const char *dock, const Report *r) {
        struct json_object *findings = json_object_object_get(result, "findings");
        struct json_object *o = json_object_new_object(), *run = json_object_new_object(), *arr = json_object_new_array();

        json_object_object_add(o, "schema", json_object_new_string(RECONCILE_REPORT_SCHEMA));
        json_object_object_add(o, "schema_version", json_object_new_int(RECONCILE_REPORT_SCHEMA_VERSION));
        json_object_object_add(o, "id", json_object_new_string(r->id));
        json_object_object_add(o, "time", json_object_new_string(r->time));
        json_object_object_add(o, "dock", json_object_new_string(dock));
        json_object_object_add(o, "severity", json_object_new_string("critical"));
        json_object_object_add(o, "summary", json_object_new_string(r->summary));
        for (size_t i = 0; i < ELEMENTSOF(run_fields); i++)
                json_object_object_add(run, run_fields[i], json_object_get(json_object_object_get(result, run_fields[i])));
        json_object_object_add(o, "run", run);
        for (size_t i = 0; i < json_object_array_length(findings); i++)
                json_object_array_add(arr, finding_json(json_object_array_get_idx(findings, i)));
        json_object_object_add(o, "findings", arr);
        json_object_object_add(o, "findings_truncated",
                               json_object_get(json_object_object_get(result, "findings_truncated")));
        return o;
}

int reconcile_report_render(struct json_object *result, const char *dock, time_t now, Report *ret) {
        struct json_object *o;
        Report r = { .severity = SEVERITY_CRITICAL };
        char stamp[32];
        struct tm tm;

        if (json_object_array_length(json_object_object_get(result, "findings")) == 0)
                return -ENODATA;
        report_new_id(r.id);
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        /* Two runs in one second must not share a name: central storage keeps
         * each report write-once. */
        snprintf(r.name, sizeof r.name, "%s-reconciliation-%.8s", stamp, strempty(str(result, "id")));
        strftime(r.time, sizeof r.time, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (summary_of(result, &r.summary) < 0)
                return -ENOMEM;
        o = report_json(result, dock, &r);
        r.json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        r.text = render_text(o, result);
        json_object_put(o);
        if (!r.json || !r.text) {
                report_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}
