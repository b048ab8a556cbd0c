/* SPDX-License-Identifier: Apache-2.0 */
/* The health checks (formats/health.h), written from the README ([health],
 * [dock] clock_drift_threshold) and docs/malfunction-report.md ("Findings":
 * which code, which severity, which values measured, which policy clause). A
 * healthy camera produces no finding. */
#include <glib.h>

#include "dockd-config.h"
#include "health.h"

static DockdConfig *defaults(void) {
        DockdConfig *c = config_new();

        g_assert_nonnull(c);
        return c;
}

static const Finding *only(const FindingList *l, const char *code, Severity severity, const char *section) {
        g_assert_cmpuint(l->n, ==, 1);
        g_assert_cmpstr(l->items[0].code, ==, code);
        g_assert_cmpint(l->items[0].severity, ==, severity);
        g_assert_cmpstr(policy_section(l->items[0].policy), ==, section);
        g_assert_nonnull(l->items[0].summary);
        return &l->items[0];
}

static int64_t measured_int(const Finding *f, const char *key) {
        struct json_object *v;

        g_assert_true(json_object_object_get_ex(f->measured, key, &v));
        return json_object_get_int64(v);
}

static void test_battery(void) {
        _cleanup_(config_freep) DockdConfig *c = defaults();
        PtpBatteryTelemetry good = { .full_charge_mah = 2850, .design_mah = 3000, .cycle_count = 100 };
        PtpBatteryTelemetry worn = { .full_charge_mah = 1650, .design_mah = 3000, .cycle_count = 811 };
        FindingList l = {};
        const Finding *f;

        /* Default min_battery_health 80%: 95% is fine, 55% is an error (D.1.b). */
        health_check_battery(c, &good, &l);
        g_assert_cmpuint(l.n, ==, 0);
        health_check_battery(c, &worn, &l);
        f = only(&l, "battery-health", SEVERITY_ERROR, "D.1.b");
        g_assert_cmpint(measured_int(f, "full_charge_mah"), ==, 1650);
        g_assert_cmpint(measured_int(f, "design_mah"), ==, 3000);
        g_assert_cmpint(measured_int(f, "minimum_percent"), ==, 80);
        g_assert_cmpint(measured_int(f, "cycle_count"), ==, 811);
        findings_clear(&l);
}

static void test_battery_declining(void) {
        _cleanup_(config_freep) DockdConfig *c = defaults();
        CameraHistory steady = {}, falling = {}, below = {};
        FindingList l = {};
        const Finding *f;

        for (unsigned i = 0; i < 5; i++) {
                camera_history_add_battery(&steady, &(BatterySample) { .time = 1000 * i, .health_permille = 950 - i });
                camera_history_add_battery(&falling, &(BatterySample) { .time = 1000 * i, .health_permille = 950 - 20 * i });
                camera_history_add_battery(&below, &(BatterySample) { .time = 1000 * i, .health_permille = 800 - 20 * i });
        }
        /* Less than 5 points over the dockings: nothing. */
        health_check_battery_trend(c, &steady, &l);
        g_assert_cmpuint(l.n, ==, 0);
        /* 95% to 87%: a warning to plan a replacement. */
        health_check_battery_trend(c, &falling, &l);
        f = only(&l, "battery-declining", SEVERITY_WARNING, "D.1.b");
        g_assert_cmpint(measured_int(f, "dockings"), ==, 5);
        findings_clear(&l);
        /* Below the minimum: battery-health says so, not this. */
        health_check_battery_trend(c, &below, &l);
        g_assert_cmpuint(l.n, ==, 0);
}

static void test_storage_nearly_full(void) {
        _cleanup_(config_freep) DockdConfig *c = defaults();
        FindingList l = {};
        const Finding *f;

        health_check_storage(c, 100 * GiB, 50 * GiB, &l);
        g_assert_cmpuint(l.n, ==, 0);
        /* Default storage_nearly_full 90%. */
        health_check_storage(c, 100 * GiB, 95 * GiB, &l);
        f = only(&l, "storage-nearly-full", SEVERITY_WARNING, "D.5.a");
        g_assert_cmpint(measured_int(f, "used_percent"), ==, 95);
        g_assert_cmpint(measured_int(f, "threshold_percent"), ==, 90);
        findings_clear(&l);
}

static void test_clock_drift(void) {
        _cleanup_(config_freep) DockdConfig *c = defaults();
        FindingList l = {};
        const Finding *f;

        /* Within clock_drift_threshold (1 s by default): nothing. */
        health_check_clock(c, 1, CLOCK_CORRECTED, &l);
        g_assert_cmpuint(l.n, ==, 0);
        /* Off by more: a warning when corrected, an error when it could not be (C.4). */
        health_check_clock(c, -120, CLOCK_CORRECTED, &l);
        f = only(&l, "clock-drift", SEVERITY_WARNING, "C.4");
        g_assert_cmpint(measured_int(f, "drift_seconds"), ==, -120);
        findings_clear(&l);
        health_check_clock(c, 3600, CLOCK_NOT_CORRECTED, &l);
        only(&l, "clock-drift", SEVERITY_ERROR, "C.4");
        findings_clear(&l);
        /* Left as configured (clock_set = no): the agency's choice, not a fault. */
        health_check_clock(c, 3600, CLOCK_LEFT_AS_CONFIGURED, &l);
        f = only(&l, "clock-drift", SEVERITY_WARNING, "C.4");
        g_assert_nonnull(strstr(f->summary, "clock_set = no"));
        findings_clear(&l);
}

/* The camera's clock is changed only where configured: [dock] clock_set for a
 * signing camera, [generic.NAME] clock_set for one that does not sign. */
static void test_clock_decision(void) {
        usec_t t = 5 * USEC_PER_SEC;

        /* Not configured: the drift is recorded, nothing is set, however far off. */
        g_assert_cmpint(health_clock_decision(false, true, 86400, t, 1), ==, CLOCK_LEAVE);
        g_assert_cmpint(health_clock_decision(false, false, 0, t, 1), ==, CLOCK_LEAVE);
        g_assert_cmpint(health_clock_decision(false, true, -86400, t, 0), ==, CLOCK_LEAVE);
        /* Configured: within the threshold left alone, beyond it set, either way. */
        g_assert_cmpint(health_clock_decision(true, true, 5, t, 1), ==, CLOCK_LEAVE);
        g_assert_cmpint(health_clock_decision(true, true, -5, t, 1), ==, CLOCK_LEAVE);
        g_assert_cmpint(health_clock_decision(true, true, 6, t, 1), ==, CLOCK_SET);
        g_assert_cmpint(health_clock_decision(true, true, -6, t, 1), ==, CLOCK_SET);
        g_assert_cmpint(health_clock_decision(true, true, INT64_MIN + 1, t, 1), ==, CLOCK_SET);
        /* An unreadable clock is set. */
        g_assert_cmpint(health_clock_decision(true, false, 0, t, 1), ==, CLOCK_SET);
        /* Never from a dock clock that is not synchronised; unknown (< 0) is not "not synchronised". */
        g_assert_cmpint(health_clock_decision(true, true, 600, t, 0), ==, CLOCK_NOT_SET_UNSYNCHRONISED);
        g_assert_cmpint(health_clock_decision(true, false, 0, t, 0), ==, CLOCK_NOT_SET_UNSYNCHRONISED);
        g_assert_cmpint(health_clock_decision(true, true, 600, t, -EPERM), ==, CLOCK_SET);
}

static void test_missed_uploads(void) {
        _cleanup_(config_freep) DockdConfig *c = defaults();
        time_t now = 1800000000;
        FindingList l = {};
        const Finding *f;

        /* Never docked before: nothing to compare with. */
        health_check_undocked(c, 0, now, &l);
        g_assert_cmpuint(l.n, ==, 0);
        /* Default max_undocked 3 days: 2 days is fine, 5 days missed its uploads. */
        health_check_undocked(c, now - 2 * 86400, now, &l);
        g_assert_cmpuint(l.n, ==, 0);
        health_check_undocked(c, now - 5 * 86400, now, &l);
        f = only(&l, "missed-uploads", SEVERITY_WARNING, "D.5.a");
        g_assert_cmpint(measured_int(f, "undocked_hours"), ==, 120);
        g_assert_cmpint(measured_int(f, "maximum_hours"), ==, 72);
        findings_clear(&l);
}

static void test_self_test(void) {
        PtpSelfTestEntry entries[] = {
                { .component = 1, .result = PTP_SELF_TEST_PASS },
                { .component = 2, .result = PTP_SELF_TEST_FAIL, .error_code = 0x21, .detail = (char *) "capsule bias" },
        };
        PtpSelfTestEntry storage[] = {
                { .component = 3, .result = PTP_SELF_TEST_FAIL, .error_code = 0x5 },
        };
        PtpSelfTestResult mic = { .state = PTP_SELF_TEST_COMPLETE, .entries = entries, .n_entries = 2 };
        PtpSelfTestResult sd = { .state = PTP_SELF_TEST_COMPLETE, .entries = storage, .n_entries = 1 };
        FindingList l = {};
        const Finding *f;
        struct json_object *v;

        /* A failed component: the camera must not be used (D.1.b(1)). */
        health_check_self_test(&mic, &l);
        f = only(&l, "self-test", SEVERITY_ERROR, "D.1.b(1)");
        g_assert_true(json_object_object_get_ex(f->measured, "component", &v));
        g_assert_cmpstr(json_object_get_string(v), ==, "microphone");
        g_assert_cmpint(measured_int(f, "error_code"), ==, 0x21);
        findings_clear(&l);
        /* Storage has its own code. */
        health_check_self_test(&sd, &l);
        only(&l, "storage-errors", SEVERITY_ERROR, "D.1.b(1)");
        findings_clear(&l);
}

static void test_worst_finding(void) {
        FindingList l = {};

        findings_add(&l, "clock-drift", SEVERITY_WARNING, "metadata", NULL, "a");
        findings_add(&l, "integrity", SEVERITY_CRITICAL, "preserve", NULL, "b");
        findings_add(&l, "self-test", SEVERITY_ERROR, "do-not-use", NULL, "c");
        g_assert_cmpint(findings_max(&l), ==, SEVERITY_CRITICAL);
        g_assert_true(findings_has(&l, "integrity"));
        g_assert_false(findings_has(&l, "battery-health"));
        g_assert_cmpstr(severity_to_string(SEVERITY_CRITICAL), ==, "critical");
        findings_clear(&l);
        g_assert_cmpuint(l.n, ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/health/battery", test_battery);
        g_test_add_func("/health/battery-declining", test_battery_declining);
        g_test_add_func("/health/storage-nearly-full", test_storage_nearly_full);
        g_test_add_func("/health/clock-decision", test_clock_decision);
        g_test_add_func("/health/clock-drift", test_clock_drift);
        g_test_add_func("/health/missed-uploads", test_missed_uploads);
        g_test_add_func("/health/self-test", test_self_test);
        g_test_add_func("/health/worst-finding", test_worst_finding);
        return g_test_run();
}
