/* SPDX-License-Identifier: Apache-2.0 */
/* bay-health.c: see bay-health.h. A docking's findings accumulate in the bay;
 * once the camera is offloaded, tested and charged the bay settles (ready when
 * nothing is an error, fault otherwise) and the findings, if any, become the
 * docking's report. Findings that turn up later (a charger overheating after
 * "ready") go into a follow-up report that names the first. */
#include <inttypes.h>

#include "bay-health.h"
#include "camera-history.h"
#include "docking-record.h"
#include "message-ids.h"

#define CHARGE_POLL_USEC (1 * USEC_PER_SEC)
/* The taper is only judged on a charge watched closely enough to have seen it. */
#define CHARGE_TAPER_MIN_SAMPLES 20
#define SELF_TEST_POLL_USEC (1 * USEC_PER_SEC)
#define SELF_TEST_MAX_POLLS 180

static void continue_after_offload(Bay *b);
static void finish(Bay *b);

/* The findings a self-test produces (health_check_self_test() and the ones
 * below): what an operator's re-run replaces. */
static const char *const self_test_codes[] = {
        "self-test", "storage-errors", "self-test-unreadable", "self-test-timeout", NULL
};

/* ---- the docking's record: what survives a dockd restart ---- */

static void record_save(Bay *b) {
        size_t n = 0;
        _cleanup_free_ char **codes = NULL;
        DockingRecord r = {
                .serial = b->serial,
                .docked_at = (time_t) (b->docked_at / USEC_PER_SEC),
        };
        int k;

        for (char **c = b->prev_codes; c && *c; c++)
                n++;
        codes = calloc(n + b->findings_reported + 1, sizeof *codes);
        if (!codes)
                return (void) log_oom();
        n = 0;
        for (char **c = b->prev_codes; c && *c; c++)
                codes[n++] = *c;
        for (size_t i = 0; i < b->findings_reported; i++)
                codes[n++] = b->findings.items[i].code;
        r.reported = codes;   /* borrowed strings */
        memcpy(r.report_id, b->report_id, sizeof r.report_id);
        k = docking_record_save(b->ctx->config->state_dir, b->index, &r);
        if (k < 0)
                log_bay_warning_errno(b, k, "Cannot save the docking record: %m");
}

static void record_remove(Bay *b) {
        int k = docking_record_remove(b->ctx->config->state_dir, b->index);

        if (k < 0)
                log_bay_warning_errno(b, k, "Cannot remove the docking record: %m");
}

bool bay_health_docking_resumable(Bay *b, const char *serial) {
        DockingRecord r;
        bool same;

        if (docking_record_load(b->ctx->config->state_dir, b->index, &r) < 0)
                return false;
        same = streq_ptr(r.serial, serial);
        docking_record_done(&r);
        return same;
}

/* Take over the docking a stopped dockd had: when it began, its report, and
 * what that report already said. */
static bool record_resume(Bay *b) {
        DockingRecord r;

        if (docking_record_load(b->ctx->config->state_dir, b->index, &r) < 0)
                return false;
        if (!streq_ptr(r.serial, b->serial)) {
                docking_record_done(&r);
                return false;
        }
        if (r.docked_at >= 0)
                b->docked_at = (usec_t) r.docked_at * USEC_PER_SEC;
        memcpy(b->report_id, r.report_id, sizeof b->report_id);
        b->prev_codes = TAKE_PTR(r.reported);
        docking_record_done(&r);
        return true;
}

static bool reported_before(Bay *b, const char *code) {
        for (char **c = b->prev_codes; c && *c; c++)
                if (streq(*c, code))
                        return true;
        return false;
}

/* ---- findings and the report ---- */

static void file_report(Bay *b) {
        const DockContext *ctx = b->ctx;
        _cleanup_free_ Finding *items = calloc(MAX(b->findings.n, 1), sizeof *items);
        FindingList fresh = { .items = items };
        struct json_object *batt = camera_history_battery_json(&b->history), *off = NULL;
        ReportContext report = {
                .dock = ctx->config->dock_name,
                .bay = b->index,
                .serial = b->serial,
                .model = b->model,
                .firmware = b->firmware,
                .officer_id = b->officer_id,
                .docked_at = (time_t) (b->docked_at / USEC_PER_SEC),
                .findings = &fresh,
                .battery_history = batt,
                .follows = b->report_id[0] ? b->report_id : NULL,
                .self_test = bay_health_self_test_status(b),
        };
        char id[37];
        int r;

        /* What this docking found and did not report yet (also not before a
         * dockd restart): a copy of the pointers, the list keeps ownership. */
        for (size_t i = b->findings_reported; items && i < b->findings.n; i++)
                if (!reported_before(b, b->findings.items[i].code))
                        items[fresh.n++] = b->findings.items[i];
        if (fresh.n == 0 || !b->serial || !ctx->reports) {
                b->findings_reported = b->findings.n;
                goto finish;
        }
        if (b->have_summary) {
                off = json_object_new_object();
                json_object_object_add(off, "segments", json_object_new_int((int) b->summary.segments));
                json_object_object_add(off, "pulled", json_object_new_int((int) b->summary.pulled));
                json_object_object_add(off, "quarantined", json_object_new_int((int) b->summary.quarantined));
                if (b->generic)   /* a camera that does not sign: nobody mistakes the dock's seal for its */
                        json_object_object_add(off, "sealed_by_dock", json_object_new_int((int) b->summary.sealed));
                json_object_object_add(off, "deleted", json_object_new_int((int) b->summary.deleted));
                json_object_object_add(off, "delete_refused", json_object_new_int((int) b->summary.delete_refused));
                report.offload = off;
        }
        r = report_outbox_file(ctx->reports, &report, id);
        if (r < 0) {
                log_bay_error_errno(b, r, "Cannot file the malfunction report: %m");
                goto finish;
        }
        if (!b->report_id[0])
                memcpy(b->report_id, id, sizeof id);
        b->findings_reported = b->findings.n;
        record_save(b);
finish:
        json_object_put(batt);
        json_object_put(off);
}

void bay_health_file_fault(Bay *b, const char *code, Severity severity, const char *policy,
                           struct json_object *measured, const char *fmt, ...) {
        size_t n = b->findings.n;
        va_list ap;

        va_start(ap, fmt);
        findings_addv(&b->findings, code, severity, policy, measured, fmt, ap);
        va_end(ap);
        if (severity >= SEVERITY_CRITICAL)
                b->integrity_fault = true;
        free(b->fault_reason);
        b->fault_reason = b->findings.n > n ? strdup(b->findings.items[n].summary) : NULL;
        bay_set_state(b, BAY_FAULT);
        bay_update_leds(b);
        file_report(b);
}

/* Everything is known: settle, and report what was found. */
static void finish(Bay *b) {
        Severity worst = findings_max(&b->findings);

        (void) sd_event_source_set_enabled(b->self_test_poll, SD_EVENT_OFF);
        if (b->state != BAY_FAULT) {
                if (b->findings.n > 0 && worst >= SEVERITY_ERROR) {
                        const Finding *w = NULL;
                        for (size_t i = 0; i < b->findings.n; i++)
                                if (!w || b->findings.items[i].severity > w->severity)
                                        w = &b->findings.items[i];
                        free(b->fault_reason);
                        b->fault_reason = strdup(w->summary);
                        bay_set_state(b, BAY_FAULT);
                        log_full_errno_ctx(LOG_ERR, 0,
                                           (&(LogContext) {
                                                   .bay = b->name, .serial = b->serial,
                                                   .message_id = DOCKD_MESSAGE_BAY_FAULT,
                                                   .fields = (const LogField[]) { { "DOCKD_REASON", w->summary }, {} },
                                           }),
                                           "Camera must not be issued: %s", w->summary);
                } else {
                        bay_set_state(b, BAY_READY);
                        log_full_errno_ctx(LOG_NOTICE, 0,
                                           (&(LogContext) {
                                                   .bay = b->name, .serial = b->serial,
                                                   .message_id = DOCKD_MESSAGE_CAMERA_READY,
                                           }),
                                           "Camera is offloaded, charged and tested: take it.%s",
                                           b->findings.n ? " (A report notes minor findings.)" : "");
                }
        }
        file_report(b);
        bay_update_leds(b);
}

/* ---- self-test ---- */

/* The self-test ended (or will never): a docking goes on after its offload; an
 * operator's re-run settles the bay with what it found. */
static void self_test_settled(Bay *b) {
        if (!b->self_test_done)
                return;
        if (b->self_test_rerun) {
                b->self_test_rerun = false;
                (void) sd_event_source_set_enabled(b->self_test_poll, SD_EVENT_OFF);
                finish(b);
        } else if (b->offload_done)
                continue_after_offload(b);
}

static void on_self_test_result(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Bay *b = userdata;
        PtpSelfTestResult res = {};

        if (c != b->camera)
                return;
        b->self_test_query = false;
        if (b->self_test_done)
                return;
        if (error < 0 || ptp_self_test_result_parse(data, size, &res) < 0) {
                log_bay_warning_errno(b, error < 0 ? error : -EBADMSG, "Cannot read the self-test result: %m");
                findings_add(&b->findings, "self-test-unreadable", SEVERITY_ERROR, "pre-shift-test", NULL,
                             "The camera's self-test result could not be read.");
                b->self_test_done = true;
        } else if (res.state == PTP_SELF_TEST_COMPLETE) {
                health_check_self_test(&res, &b->findings);
                b->self_test_done = true;
                log_bay_info(b, "Self-test complete.");
        }
        ptp_self_test_result_done(&res);
        self_test_settled(b);
}

static int on_self_test_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Bay *b = userdata;
        int r;

        (void) sd_event_source_set_time(s, usec + SELF_TEST_POLL_USEC);
        if (!b->camera || b->self_test_done)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (b->self_test_query)
                return 0;
        if (++b->self_test_polls > SELF_TEST_MAX_POLLS) {
                findings_add(&b->findings, "self-test-timeout", SEVERITY_ERROR, "pre-shift-test", NULL,
                             "The camera's self-test did not complete.");
                b->self_test_done = true;
                self_test_settled(b);
                return 0;
        }
        r = camera_get_self_test(b->camera, on_self_test_result, b);
        if (r < 0)
                log_bay_debug(b, "Cannot ask for the self-test result: %s", strerror(-r));
        else
                b->self_test_query = true;
        return 0;
}

void bay_health_event(Bay *b, const PtpContainer *e) {
        if (e->code == PTP_EC_BWC_SELF_TEST_COMPLETE && b->self_test_started && !b->self_test_done && b->camera &&
            !b->self_test_query && camera_get_self_test(b->camera, on_self_test_result, b) >= 0)
                b->self_test_query = true;
}

static void on_self_test_started(Camera *c, int error, uint16_t rc, void *userdata) {
        Bay *b = userdata;

        if (c != b->camera)
                return;
        if (error == -EREMOTEIO && rc == PTP_RC_DEVICE_BUSY)
                error = 0;   /* one is running already: its result will do */
        if (error < 0)
                log_bay_warning_errno(b, error, "Cannot start the self-test: %m");
        else
                b->self_test_started = true;
        b->tests_next(b);
}

static void on_rerun_started(Camera *c, int error, uint16_t rc, void *userdata) {
        Bay *b = userdata;

        if (c != b->camera || !b->self_test_rerun)
                return;
        if (error == -EREMOTEIO && rc == PTP_RC_DEVICE_BUSY)
                error = 0;   /* one is running already: its result will do */
        if (error < 0) {
                log_bay_warning_errno(b, error, "Cannot start the self-test an operator asked for: %m");
                findings_add(&b->findings, "self-test-unreadable", SEVERITY_ERROR, "pre-shift-test", NULL,
                             "The camera's self-test could not be started.");
                b->self_test_done = true;
                self_test_settled(b);
                return;
        }
        b->self_test_started = true;
        (void) sd_event_source_set_time_relative(b->self_test_poll, SELF_TEST_POLL_USEC);
        (void) sd_event_source_set_enabled(b->self_test_poll, SD_EVENT_ON);
}

int bay_health_can_rerun_self_test(const Bay *b) {
        if (!b->camera || b->camera->gone || !b->serial || b->disabled)
                return -ENODEV;
        if (b->generic)
                return -EOPNOTSUPP;
        if (b->state != BAY_READY && b->state != BAY_FAULT)
                return -EBUSY;
        /* A fault of the dock's (bay_set_fault(): custody, port power) has no
         * finding: settling after the test would turn it ready. */
        if (b->state == BAY_FAULT && findings_max(&b->findings) < SEVERITY_ERROR)
                return -EPERM;
        return 0;
}

const char *bay_health_self_test_status(const Bay *b) {
        if (b->generic)
                return "not-supported";
        if (b->self_test_started && !b->self_test_done)
                return "running";
        if (!b->self_test_done)
                return "not-run";
        for (const char *const *c = self_test_codes; *c; c++)
                if (findings_has(&b->findings, *c))
                        return "failed";
        return "passed";
}

int bay_health_rerun_self_test(Bay *b) {
        int r = bay_health_can_rerun_self_test(b);

        if (r < 0)
                return r;
        r = camera_run_self_test(b->camera, 0, on_rerun_started, b);
        if (r < 0)
                return r;
        b->findings_reported -= findings_remove(&b->findings, self_test_codes, b->findings_reported);
        b->self_test_started = b->self_test_done = b->self_test_query = false;
        b->self_test_polls = 0;
        b->self_test_rerun = true;
        log_bay_notice(b, "Running the camera's self-test again, as an operator asked.");
        bay_set_state(b, BAY_TESTING);
        bay_update_leds(b);
        return 0;
}

static void on_battery_start(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Bay *b = userdata;
        int r;

        if (c != b->camera)
                return;
        if (error >= 0 && ptp_battery_telemetry_parse(data, size, &b->battery) >= 0)
                b->have_battery = true;
        if (!b->ctx->config->health_self_test) {
                b->tests_next(b);
                return;
        }
        r = camera_run_self_test(c, 0, on_self_test_started, b);
        if (r < 0) {
                log_bay_warning_errno(b, r, "Cannot start the self-test: %m");
                b->tests_next(b);
        }
}

void bay_health_start_tests(Bay *b, void (*next)(Bay *b)) {
        int r;

        b->tests_next = next;
        if (b->testing_started) {
                /* Again after a recovery: the tests already ran in this docking. */
                next(b);
                return;
        }
        b->testing_started = true;
        bay_set_state(b, BAY_TESTING);
        r = camera_get_battery(b->camera, on_battery_start, b);
        if (r < 0)
                on_battery_start(b->camera, r, 0, NULL, 0, b);
}

/* ---- after the offload ---- */

static void charge_or_finish(Bay *b) {
        /* A camera that is not to be issued anyway does not wait for its charge. */
        if (b->charger && !b->charge_full && !b->charge_inhibited && b->state != BAY_FAULT &&
            findings_max(&b->findings) < SEVERITY_ERROR) {
                bay_set_state(b, BAY_CHARGING);
                return;   /* the charge watch finishes */
        }
        finish(b);
}

static void on_battery_end(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Bay *b = userdata;
        PtpBatteryTelemetry t;
        const DockContext *ctx = b->ctx;

        if (c != b->camera)
                return;
        if (error >= 0 && ptp_battery_telemetry_parse(data, size, &t) >= 0) {
                b->battery = t;
                b->have_battery = true;
        }
        if (b->have_battery) {
                BatterySample s = {
                        .time = time(NULL),
                        .health_permille = b->battery.design_mah
                                                   ? (unsigned) ((uint64_t) b->battery.full_charge_mah * 1000 / b->battery.design_mah)
                                                   : 0,
                        .cycles = b->battery.cycle_count,
                        .full_mah = b->battery.full_charge_mah,
                        .design_mah = b->battery.design_mah,
                };
                health_check_battery(ctx->config, &b->battery, &b->findings);
                camera_history_add_battery(&b->history, &s);
                health_check_battery_trend(ctx->config, &b->history, &b->findings);
                (void) camera_history_save(ctx->config->state_dir, b->serial, &b->history);
        } else
                findings_add(&b->findings, "battery-unreadable", SEVERITY_ERROR, "pre-shift-test", NULL,
                             "The camera's battery telemetry could not be read.");
        charge_or_finish(b);
}

static void continue_after_offload(Bay *b) {
        int r;

        if (b->state == BAY_FAULT) {
                file_report(b);
                return;
        }
        if (b->self_test_started && !b->self_test_done) {
                bay_set_state(b, BAY_TESTING);
                (void) sd_event_source_set_time_relative(b->self_test_poll, SELF_TEST_POLL_USEC);
                (void) sd_event_source_set_enabled(b->self_test_poll, SD_EVENT_ON);
                return;
        }
        (void) sd_event_source_set_enabled(b->self_test_poll, SD_EVENT_OFF);
        if (b->generic)
                /* No vendor telemetry or self-test to ask for: the survey read the
                 * standard BatteryLevel where offered (status "generic"). */
                return charge_or_finish(b);
        r = b->camera ? camera_get_battery(b->camera, on_battery_end, b) : -ENODEV;
        if (r < 0)
                on_battery_end(b->camera, r, 0, NULL, 0, b);
}

void bay_health_offload_done(Bay *b) {
        const OffloadSummary *s = &b->summary;
        uint64_t used = s->storage_capacity - MIN(s->storage_free, s->storage_capacity);

        b->offload_done = true;
        used -= MIN(used, s->bytes_deleted);
        health_check_storage(b->ctx->config, s->storage_capacity, used, &b->findings);
        continue_after_offload(b);
}

/* ---- the charge ---- */

static void charger_problem(Bay *b, const char *code, const ChargerReading *rd, const char *what) {
        struct json_object *m = json_object_new_object();
        char reason[160];

        bay_health_inhibit_charge(b, true);
        if (findings_has(&b->findings, code))
                return;
        if (rd->have_temp)
                json_object_object_add(m, "temperature_celsius", json_object_new_double(rd->temp_decic / 10.0));
        json_object_object_add(m, "maximum_celsius", json_object_new_int((int) b->ctx->config->health_max_charge_temp));
        json_object_object_add(m, "charger_health", json_object_new_string(rd->health));
        json_object_object_add(m, "charger", json_object_new_string(charger_name(b->charger)));
        findings_add(&b->findings, code, SEVERITY_ERROR, "do-not-use", m, "%s; charging was stopped.", what);
        snprintf(reason, sizeof reason, "%s", what);
        log_full_errno_ctx(LOG_ERR, 0,
                           (&(LogContext) {
                                   .bay = b->name, .serial = b->serial, .message_id = DOCKD_MESSAGE_CHARGER_FAULT,
                                   .fields = (const LogField[]) { { "DOCKD_REASON", reason }, {} },
                           }),
                           "Charger %s: %s; charging stopped.", charger_name(b->charger), what);
        if (b->state == BAY_CHARGING || b->state == BAY_READY)
                finish(b);
}

static void charge_full(Bay *b, usec_t now) {
        struct json_object *m;

        b->charge_full = true;
        if (b->charge_started)
                b->charge_full_after = now - b->charge_started;
        /* A lithium charge ends in a constant-voltage phase where the current
         * falls; full without that taper suggests a gauge or charger problem. */
        if (b->charge_samples >= CHARGE_TAPER_MIN_SAMPLES && b->charge_peak_ua > 0 &&
            b->charge_last_ua * 2 > b->charge_peak_ua && !findings_has(&b->findings, "charge-no-taper")) {
                m = json_object_new_object();
                json_object_object_add(m, "peak_current_ma", json_object_new_int64(b->charge_peak_ua / 1000));
                json_object_object_add(m, "last_current_ma", json_object_new_int64(b->charge_last_ua / 1000));
                findings_add(&b->findings, "charge-no-taper", SEVERITY_WARNING, "pre-shift-test", m,
                             "Charge ended at %" PRId64 " mA without tapering from %" PRId64 " mA.",
                             b->charge_last_ua / 1000, b->charge_peak_ua / 1000);
        }
        log_bay_info(b, "Charged in %.0f s.", (double) b->charge_full_after / USEC_PER_SEC);
        if (b->state == BAY_CHARGING)
                finish(b);
}

static int on_charge_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Bay *b = userdata;
        const DockdConfig *c = b->ctx->config;
        ChargerReading rd;
        struct json_object *m;

        if (!b->serial || !b->charger)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_time(s, usec + CHARGE_POLL_USEC);
        if (charger_read(b->charger, &rd) < 0 || b->charge_inhibited)
                return 0;
        if (rd.have_temp && rd.temp_decic > (int) c->health_max_charge_temp * 10) {
                char what[96];
                snprintf(what, sizeof what, "over-temperature, %.1f °C (maximum %u °C)", rd.temp_decic / 10.0,
                         c->health_max_charge_temp);
                charger_problem(b, "charge-overtemperature", &rd, what);
                return 0;
        }
        if (charger_health_bad(rd.health)) {
                char what[96];
                snprintf(what, sizeof what, "charger reports \"%s\"", rd.health);
                charger_problem(b, "charger-fault", &rd, what);
                return 0;
        }
        if (!b->charge_started)
                b->charge_started = usec;   /* the charge clock runs from docking */
        if (rd.status == CHARGER_FULL && !b->charge_full) {
                charge_full(b, usec);
                return 0;
        }
        if (rd.status == CHARGER_CHARGING) {
                b->charge_samples++;
                if (rd.have_current) {
                        b->charge_peak_ua = MAX(b->charge_peak_ua, rd.current_ua);
                        b->charge_last_ua = rd.current_ua;
                }
                if (rd.have_voltage)
                        b->charge_last_uv = rd.voltage_uv;
        }
        if (!b->charge_full) {
                if (usec - b->charge_started > c->health_charge_timeout && !findings_has(&b->findings, "charge-timeout")) {
                        m = json_object_new_object();
                        json_object_object_add(m, "charging_minutes", json_object_new_int64((int64_t) ((usec - b->charge_started) / (60 * USEC_PER_SEC))));
                        json_object_object_add(m, "timeout_minutes", json_object_new_int64((int64_t) (c->health_charge_timeout / (60 * USEC_PER_SEC))));
                        if (b->charge_last_uv)
                                json_object_object_add(m, "voltage_mv", json_object_new_int64(b->charge_last_uv / 1000));
                        json_object_object_add(m, "charger_status", json_object_new_string(charger_status_to_string(rd.status)));
                        findings_add(&b->findings, "charge-timeout", SEVERITY_ERROR, "pre-shift-test", m,
                                     "The battery did not charge to full within %" PRIu64 " minutes (charger: %s).",
                                     (uint64_t) (c->health_charge_timeout / (60 * USEC_PER_SEC)),
                                     charger_status_to_string(rd.status));
                        if (b->state == BAY_CHARGING)
                                finish(b);
                }
        }
        return 0;
}

/* ---- docking life cycle ---- */

void bay_health_docked(Bay *b) {
        const DockContext *ctx = b->ctx;
        time_t now = time(NULL);
        int r;

        findings_clear(&b->findings);
        b->findings_reported = 0;
        b->report_id[0] = 0;
        strv_free(b->prev_codes);
        b->prev_codes = NULL;
        if (record_resume(b))
                log_bay_info(b, "Resuming this camera's docking from before dockd's restart.");
        b->integrity_fault = false;
        b->testing_started = b->self_test_started = b->self_test_done = b->offload_done = false;
        b->self_test_rerun = false;
        b->self_test_polls = 0;
        b->self_test_query = false;
        b->have_battery = false;
        b->charge_started = b->charge_full_after = 0;
        b->charge_peak_ua = b->charge_last_ua = b->charge_last_uv = 0;
        b->charge_samples = 0;
        b->charge_full = b->charge_inhibited = false;
        free(b->officer_id);
        b->officer_id = NULL;

        r = camera_history_load(ctx->config->state_dir, b->serial, &b->history);
        if (r < 0) {
                if (r != -EBADMSG)   /* that one is reported with the file's name */
                        log_bay_warning_errno(b, r, "Camera history unreadable, starting a new one: %m");
                b->history = (CameraHistory) {};
        }
        if (!b->prev_codes)
                health_check_undocked(ctx->config, b->history.last_docked, now, &b->findings);
        b->history.last_docked = now;
        r = camera_history_save(ctx->config->state_dir, b->serial, &b->history);
        if (r < 0)
                log_bay_warning_errno(b, r, "Cannot save the camera history: %m");
        record_save(b);
        if (b->charger) {
                (void) sd_event_source_set_time_relative(b->charge_timer, 0);
                (void) sd_event_source_set_enabled(b->charge_timer, SD_EVENT_ON);
        }
}

void bay_health_clock_checked(Bay *b, ClockOutcome outcome) {
        /* Once a docking: a camera that came back is checked again. */
        if (b->clock_known && !findings_has(&b->findings, "clock-drift"))
                health_check_clock(b->ctx->config, b->clock_drift, outcome, &b->findings);
}

void bay_health_inhibit_charge(Bay *b, bool inhibit) {
        int r;

        if (!b->charger || b->charge_inhibited == inhibit)
                return;
        r = charger_set_inhibit(b->charger, inhibit);
        if (r < 0 && r != -EOPNOTSUPP)
                log_bay_warning_errno(b, r, inhibit ? "Cannot stop charging: %m" : "Cannot re-enable charging: %m");
        b->charge_inhibited = inhibit;
}

void bay_health_undocked(Bay *b) {
        if (b->serial && b->findings.n > b->findings_reported) {
                findings_add(&b->findings, "removed-early", SEVERITY_WARNING, "report-malfunction", NULL,
                             "The camera was removed before its docking finished; these findings are what was known then.");
                file_report(b);
        }
        bay_health_inhibit_charge(b, false);
        (void) sd_event_source_set_enabled(b->charge_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(b->self_test_poll, SD_EVENT_OFF);
        b->self_test_rerun = false;
        if (b->serial)
                record_remove(b);
        findings_clear(&b->findings);
        b->findings_reported = 0;
        b->report_id[0] = 0;
        strv_free(b->prev_codes);
        b->prev_codes = NULL;
        b->integrity_fault = false;
        b->charge_inhibited = false;
        free(b->officer_id);
        b->officer_id = NULL;
}

void bay_health_officer(Bay *b, const char *officer_id) {
        if (officer_id && !streq_ptr(b->officer_id, officer_id)) {
                free(b->officer_id);
                b->officer_id = strdup(officer_id);
        }
}

void bay_health_quarantined(Bay *b, const char *segment, const char *reason) {
        struct json_object *m = json_object_new_object();
        bool gap = startswith(reason, "hash chain") != NULL;

        json_object_object_add(m, "segment", json_object_new_string(segment));
        json_object_object_add(m, "reason", json_object_new_string(reason));
        findings_add(&b->findings, gap ? "recording-gap" : "integrity", SEVERITY_CRITICAL, "preserve", m,
                     "Segment %s failed verification (%s): quarantined, its recording kept on the camera.",
                     segment, reason);
        b->integrity_fault = true;
}

void bay_health_delete_refused(Bay *b, const char *segment, uint16_t rc) {
        struct json_object *m = json_object_new_object();

        json_object_object_add(m, "segment", json_object_new_string(segment));
        json_object_object_add(m, "response_code", json_object_new_int(rc));
        if (b->generic) {
                /* A camera that does not sign (README, "Cameras that do not sign"). */
                findings_add(&b->findings, "camera-storage-not-cleared", SEVERITY_WARNING, "download", m,
                             "Camera storage not cleared: the camera refused to delete %s (0x%04x) although "
                             "central storage holds it; it stays on the camera, nothing was lost.", segment, rc);
                return;
        }
        findings_add(&b->findings, "delete-refused", SEVERITY_WARNING, "download", m,
                     "The camera refused to delete segment %s (0x%04x) although central storage holds it.",
                     segment, rc);
}

void bay_health_offload_finding(Bay *b, const char *code, Severity severity, const char *segment, const char *summary) {
        struct json_object *m = json_object_new_object();

        json_object_object_add(m, "segment", json_object_new_string(segment));
        findings_add(&b->findings, code, severity, "preserve", m, "%s", summary);
        if (severity >= SEVERITY_CRITICAL)
                b->integrity_fault = true;
}

/* ---- set up ---- */

int bay_health_init(Bay *b) {
        sd_event *e = b->ctx->event;
        int r;

        r = led_new(b->config->led_green, &b->led_green);
        if (r < 0)
                log_bay_debug(b, "No LED %s: %s", b->config->led_green, strerror(-r));
        r = led_new(b->config->led_red, &b->led_red);
        if (r < 0)
                log_bay_debug(b, "No LED %s: %s", b->config->led_red, strerror(-r));
        r = charger_new(b->config->charger, &b->charger);
        if (r < 0)
                log_bay_debug(b, "No charger %s: %s", b->config->charger, strerror(-r));
        r = sd_event_add_time(e, &b->charge_timer, CLOCK_MONOTONIC, 0, 0, on_charge_timer, b);
        if (r >= 0)
                r = sd_event_add_time(e, &b->self_test_poll, CLOCK_MONOTONIC, 0, 0, on_self_test_poll, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(b->charge_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(b->self_test_poll, SD_EVENT_OFF);
        bay_update_leds(b);
        return 0;
}

void bay_health_free(Bay *b) {
        strv_free(b->prev_codes);
        sd_event_source_disable_unref(b->charge_timer);
        sd_event_source_disable_unref(b->self_test_poll);
        findings_clear(&b->findings);
        led_free(b->led_green);
        led_free(b->led_red);
        charger_free(b->charger);
        free(b->officer_id);
}
