/* SPDX-License-Identifier: Apache-2.0 */
/* The malfunction report (formats/report.h), written from
 * docs/malfunction-report.md: the schema's fields and their types, severity
 * and summary from the most severe finding, the policy clause with each
 * finding, follow-up reports, and the text rendering. */
#include <glib.h>

#include "report.h"

#define NOW 1795328043          /* 2026-11-22T06:14:03Z */
#define DOCKED 1795327967       /* 2026-11-22T06:12:47Z */

typedef struct Fixture {
        FindingList findings;
        struct json_object *battery_history;
        struct json_object *offload;
        ReportContext ctx;
} Fixture;

static void fixture_init(Fixture *fx, const char *officer, const char *follows) {
        struct json_object *m = json_object_new_object();

        json_object_object_add(m, "full_charge_mah", json_object_new_int(1650));
        findings_add(&fx->findings, "battery-health", SEVERITY_ERROR, "pre-shift-test", m,
                     "Battery holds 55.0%% of its design capacity.");
        findings_add(&fx->findings, "clock-drift", SEVERITY_WARNING, "metadata", NULL, "Camera clock was ahead by 5 s.");
        fx->battery_history = json_tokener_parse("[{\"time\":1795306000,\"health_percent\":55.0,\"cycle_count\":811}]");
        fx->offload = json_tokener_parse("{\"segments\":2,\"pulled\":2,\"quarantined\":0,\"deleted\":2,\"delete_refused\":0}");
        fx->ctx = (ReportContext) {
                .dock = "precinct-7-dock-2",
                .bay = 2,
                .serial = "BWC-0002",
                .model = "Sentinel V3",
                .firmware = "3.1.9",
                .officer_id = officer,
                .docked_at = DOCKED,
                .findings = &fx->findings,
                .battery_history = fx->battery_history,
                .offload = fx->offload,
                .follows = follows,
        };
}

static void fixture_done(Fixture *fx) {
        findings_clear(&fx->findings);
        json_object_put(fx->battery_history);
        json_object_put(fx->offload);
}

static struct json_object *member(struct json_object *o, const char *path) {
        g_auto(GStrv) parts = g_strsplit(path, ".", -1);

        for (char **p = parts; *p; p++)
                if (!json_object_object_get_ex(o, *p, &o))
                        return NULL;
        return o;
}

static const char *string_at(struct json_object *o, const char *path) {
        struct json_object *v = member(o, path);

        g_assert_nonnull(v);
        g_assert_true(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

static void test_schema(void) {
        Fixture fx = {};
        Report r;
        struct json_object *o, *findings, *f;

        fixture_init(&fx, "5120", NULL);
        g_assert_cmpint(report_render(&fx.ctx, NOW, &r), ==, 0);
        o = json_tokener_parse(r.json);
        g_assert_nonnull(o);
        g_assert_cmpstr(string_at(o, "schema"), ==, "dockd.malfunction-report");
        g_assert_cmpint(json_object_get_int(member(o, "schema_version")), ==, 1);
        g_assert_true(g_uuid_string_is_valid(string_at(o, "id")));
        g_assert_cmpstr(string_at(o, "id"), ==, r.id);
        g_assert_cmpstr(string_at(o, "time"), ==, "2026-11-22T06:14:03Z");
        g_assert_cmpstr(string_at(o, "dock"), ==, "precinct-7-dock-2");
        g_assert_cmpint(json_object_get_int(member(o, "bay")), ==, 2);
        g_assert_cmpstr(string_at(o, "camera.serial"), ==, "BWC-0002");
        g_assert_cmpstr(string_at(o, "camera.model"), ==, "Sentinel V3");
        g_assert_cmpstr(string_at(o, "camera.firmware"), ==, "3.1.9");
        g_assert_cmpstr(string_at(o, "camera.officer_id"), ==, "5120");
        g_assert_cmpstr(string_at(o, "docked_at"), ==, "2026-11-22T06:12:47Z");
        /* The most severe finding gives severity and summary. */
        g_assert_cmpstr(string_at(o, "severity"), ==, "error");
        g_assert_true(g_str_has_prefix(string_at(o, "summary"), "Battery holds 55.0% of its design capacity."));
        findings = member(o, "findings");
        g_assert_cmpuint(json_object_array_length(findings), ==, 2);
        f = json_object_array_get_idx(findings, 0);
        g_assert_cmpstr(string_at(f, "code"), ==, "battery-health");
        g_assert_cmpstr(string_at(f, "severity"), ==, "error");
        g_assert_cmpint(json_object_get_int(member(f, "measured.full_charge_mah")), ==, 1650);
        g_assert_cmpstr(string_at(f, "policy.section"), ==, "D.1.b");
        g_assert_true(g_str_has_prefix(string_at(f, "policy.text"), "Prior to the beginning of each shift"));
        g_assert_cmpuint(json_object_array_length(member(o, "battery_history")), ==, 1);
        g_assert_cmpint(json_object_get_int(member(o, "offload.deleted")), ==, 2);
        g_assert_true(json_object_object_get_ex(o, "follows", &f) && f == NULL);
        /* The file and object name: "<UTC-time>-<serial>-<the id's first 8 digits>",
         * unique for two reports within a second. */
        {
                char want[96];
                snprintf(want, sizeof want, "20261122T061403Z-BWC-0002-%.8s", r.id);
                g_assert_cmpstr(r.name, ==, want);
        }
        g_assert_cmpint(r.severity, ==, SEVERITY_ERROR);
        json_object_put(o);
        report_done(&r);
        fixture_done(&fx);
}

static void test_unknown_officer_and_follow_up(void) {
        Fixture fx = {};
        Report r;
        struct json_object *o, *v;

        fixture_init(&fx, NULL, "5b0f9d0e-6c1f-4d55-9a4e-1f0f2b3c4d5e");
        g_assert_cmpint(report_render(&fx.ctx, NOW, &r), ==, 0);
        o = json_tokener_parse(r.json);
        g_assert_true(json_object_object_get_ex(member(o, "camera"), "officer_id", &v) && v == NULL);
        g_assert_cmpstr(string_at(o, "follows"), ==, "5b0f9d0e-6c1f-4d55-9a4e-1f0f2b3c4d5e");
        json_object_put(o);
        report_done(&r);
        fixture_done(&fx);
}

/* A camera that does not sign has no self-test: the report says "not
 * supported", in JSON and in words, and never passed; a report that is not
 * told has no field at all. */
static void test_self_test_not_supported(void) {
        Fixture fx = {};
        Report r;
        struct json_object *o, *v;

        fixture_init(&fx, NULL, NULL);
        g_assert_cmpint(report_render(&fx.ctx, NOW, &r), ==, 0);
        o = json_tokener_parse(r.json);
        g_assert_false(json_object_object_get_ex(o, "self_test", &v));
        g_assert_null(strstr(r.text, "Self-test"));
        json_object_put(o);
        report_done(&r);

        fx.ctx.self_test = "not-supported";
        g_assert_cmpint(report_render(&fx.ctx, NOW, &r), ==, 0);
        o = json_tokener_parse(r.json);
        g_assert_cmpstr(string_at(o, "self_test"), ==, "not-supported");
        g_assert_nonnull(strstr(r.text, "\nSelf-test: not supported by this camera (it does not sign); not run, "
                                        "not passed.\n"));
        json_object_put(o);
        report_done(&r);
        fixture_done(&fx);
}

static void test_nothing_to_report(void) {
        FindingList none = {};
        ReportContext ctx = { .dock = "d", .bay = 1, .serial = "BWC-0001", .findings = &none };
        Report r;

        /* A healthy camera produces no report. */
        g_assert_cmpint(report_render(&ctx, NOW, &r), <, 0);
}

static void test_text(void) {
        Fixture fx = {};
        Report r;
        g_auto(GStrv) lines = NULL;

        fixture_init(&fx, "5120", NULL);
        g_assert_cmpint(report_render(&fx.ctx, NOW, &r), ==, 0);
        lines = g_strsplit(r.text, "\n", -1);
        g_assert_cmpstr(lines[0], ==, "MALFUNCTION REPORT: camera BWC-0002 (Sentinel V3, firmware 3.1.9), officer 5120");
        g_assert_cmpstr(lines[1], ==, "Dock precinct-7-dock-2, bay 2, 2026-11-22T06:14:03Z. Severity: error.");
        g_assert_cmpstr(lines[2], ==, "Do not issue this camera for a shift until the findings are resolved.");
        g_assert_nonnull(strstr(r.text, "\n- error (battery-health): Battery holds 55.0% of its design capacity.\n"
                                        "  Policy D.1.b: Prior to the beginning of each shift"));
        g_assert_nonnull(strstr(r.text, "\n- warning (clock-drift): Camera clock was ahead by 5 s.\n  Policy C.4: "));
        /* It ends with the report's id. */
        {
                g_autofree char *last = g_strdup_printf("\nReport %s.\n", r.id);
                g_assert_true(g_str_has_suffix(r.text, last));
        }
        report_done(&r);
        fixture_done(&fx);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/report/schema", test_schema);
        g_test_add_func("/report/unknown-officer-and-follow-up", test_unknown_officer_and_follow_up);
        g_test_add_func("/report/self-test-not-supported", test_self_test_not_supported);
        g_test_add_func("/report/nothing-to-report", test_nothing_to_report);
        g_test_add_func("/report/text", test_text);
        return g_test_run();
}
