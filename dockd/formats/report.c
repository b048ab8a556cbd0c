/* SPDX-License-Identifier: Apache-2.0 */
/* report.c: see report.h. Field order and names are the schema: change them only
 * with a new schema_version (docs/malfunction-report.md). */
#include <sys/random.h>

#include "report.h"

void report_new_id(char buf[37]) {
        uint8_t b[16] = {};

        if (getrandom(b, sizeof b, 0) != sizeof b) {
                /* Extremely unlikely; a time-based id is still unique on this dock. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                memcpy(b, &ts, MIN(sizeof ts, sizeof b));
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void rfc3339(time_t t, char buf[32]) {
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct json_object *finding_json(const Finding *f) {
        struct json_object *o = json_object_new_object(), *p = json_object_new_object();

        json_object_object_add(o, "code", json_object_new_string(f->code));
        json_object_object_add(o, "severity", json_object_new_string(severity_to_string(f->severity)));
        json_object_object_add(o, "summary", json_object_new_string(f->summary));
        json_object_object_add(o, "measured", json_object_get(f->measured));
        json_object_object_add(p, "document", json_object_new_string("Body-worn and dashboard camera policy"));
        json_object_object_add(p, "section", json_object_new_string(strna(policy_section(f->policy))));
        json_object_object_add(p, "text", json_object_new_string(strempty(policy_text(f->policy))));
        json_object_object_add(o, "policy", p);
        return o;
}

static char *render_text(const ReportContext *ctx, const Report *r, const char *when) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return NULL;
        fprintf(f, "MALFUNCTION REPORT: camera %s (%s, firmware %s), officer %s\n", ctx->serial, strna(ctx->model),
                strna(ctx->firmware), ctx->officer_id ?: "unknown");
        fprintf(f, "Dock %s, bay %u, %s. Severity: %s.\n", ctx->dock, ctx->bay, when, severity_to_string(r->severity));
        if (r->severity >= SEVERITY_ERROR)
                fprintf(f, "Do not issue this camera for a shift until the findings are resolved.\n");
        if (streq_ptr(ctx->self_test, "not-supported"))   /* nobody reads its absence as a pass */
                fprintf(f, "Self-test: not supported by this camera (it does not sign); not run, not passed.\n");
        fputc('\n', f);
        for (size_t i = 0; i < ctx->findings->n; i++) {
                const Finding *x = &ctx->findings->items[i];
                fprintf(f, "- %s (%s): %s\n  Policy %s: %s\n", severity_to_string(x->severity), x->code, x->summary,
                        strna(policy_section(x->policy)), strempty(policy_text(x->policy)));
        }
        fprintf(f, "\nReport %s%s%s.\n", r->id, ctx->follows ? ", follows report " : "", strempty(ctx->follows));
        fclose(f);
        return out;
}

int report_render(const ReportContext *ctx, time_t now, Report *ret) {
        struct json_object *o, *cam, *arr;
        char when[32], docked[32], stamp[32];
        struct tm tm;
        Report r = {};
        const Finding *worst = NULL;

        if (!ctx->findings || ctx->findings->n == 0)
                return -ENODATA;
        report_new_id(r.id);
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        /* The id's first eight digits too: two reports for one camera within a
         * second (a quick re-dock) must not share a file or an object key. */
        snprintf(r.name, sizeof r.name, "%s-%s-%.8s", stamp, ctx->serial, r.id);
        rfc3339(now, when);
        memcpy(r.time, when, sizeof r.time);
        rfc3339(ctx->docked_at, docked);
        r.severity = findings_max(ctx->findings);
        for (size_t i = 0; i < ctx->findings->n; i++)
                if (!worst || ctx->findings->items[i].severity > worst->severity)
                        worst = &ctx->findings->items[i];
        if (asprintf(&r.summary, "%s%s", worst->summary,
                     ctx->findings->n > 1 ? " (and more findings)" : "") < 0)
                return -ENOMEM;

        o = json_object_new_object();
        json_object_object_add(o, "schema", json_object_new_string(REPORT_SCHEMA));
        json_object_object_add(o, "schema_version", json_object_new_int(REPORT_SCHEMA_VERSION));
        json_object_object_add(o, "id", json_object_new_string(r.id));
        json_object_object_add(o, "time", json_object_new_string(when));
        json_object_object_add(o, "dock", json_object_new_string(ctx->dock));
        json_object_object_add(o, "bay", json_object_new_int((int) ctx->bay));
        cam = json_object_new_object();
        json_object_object_add(cam, "serial", json_object_new_string(ctx->serial));
        json_object_object_add(cam, "model", ctx->model ? json_object_new_string(ctx->model) : NULL);
        json_object_object_add(cam, "firmware", ctx->firmware ? json_object_new_string(ctx->firmware) : NULL);
        json_object_object_add(cam, "officer_id", ctx->officer_id ? json_object_new_string(ctx->officer_id) : NULL);
        json_object_object_add(o, "camera", cam);
        json_object_object_add(o, "docked_at", json_object_new_string(docked));
        json_object_object_add(o, "severity", json_object_new_string(severity_to_string(r.severity)));
        json_object_object_add(o, "summary", json_object_new_string(r.summary));
        arr = json_object_new_array();
        for (size_t i = 0; i < ctx->findings->n; i++)
                json_object_array_add(arr, finding_json(&ctx->findings->items[i]));
        json_object_object_add(o, "findings", arr);
        json_object_object_add(o, "battery_history",
                               ctx->battery_history ? json_object_get(ctx->battery_history) : json_object_new_array());
        if (ctx->offload)
                json_object_object_add(o, "offload", json_object_get(ctx->offload));
        if (ctx->self_test)
                json_object_object_add(o, "self_test", json_object_new_string(ctx->self_test));
        json_object_object_add(o, "follows", ctx->follows ? json_object_new_string(ctx->follows) : NULL);

        r.json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        r.text = render_text(ctx, &r, when);
        if (!r.json || !r.text) {
                report_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

void report_done(Report *r) {
        free(r->summary);
        free(r->json);
        free(r->text);
        *r = (Report) {};
}
