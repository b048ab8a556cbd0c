/* SPDX-License-Identifier: Apache-2.0 */
/* bay.c: the bay state machine. A camera arriving on the bay's port is opened,
 * identified and authenticated (certificate chained to the trust anchors, naming
 * the camera's serial), its clock checked and set, and then offloaded. A camera
 * failing mid-way is recovered (Cancel, Device Reset, new session) and the step
 * redone from durable state; one that keeps failing puts the bay in fault. A
 * camera that leaves is waited for ([dock] removal_debounce): if the same camera
 * comes back it is the same docking. */
#include <inttypes.h>
#include <sys/random.h>
#include <time.h>

#include "bay-generic.h"
#include "bay-health.h"
#include "bay.h"
#include "clock-util.h"
#include "failpoint.h"
#include "generic-survey.h"
#include "manifest.h"
#include "seal.h"
#include "message-ids.h"
#include "offload.h"
#include "parse-util.h"
#include "ptp.h"
#include "sysfs.h"
#include "verify.h"

/* Recoveries (Cancel, Device Reset) before the port is power-cycled, once;
 * after that a failure is a fault. */
#define BAY_MAX_RESETS 2
#define BAY_POWER_OFF_USEC (1 * USEC_PER_SEC)

/* ---- life cycle of a docking ---- */

static void camera_release(Bay *b) {
        b->offload = offload_free(b->offload);
        b->survey = generic_survey_free(b->survey);
        json_object_put(b->generic_status);
        b->generic_status = NULL;
        if (b->camera) {
                camera_abandon(b->camera);
                b->camera = camera_unref(b->camera);
        }
}

/* The docking of b->serial is over (custody "undocked"); the camera object, if
 * any, is left alone. */
static void docking_forget(Bay *b) {
        bay_health_undocked(b);
        if (b->serial) {
                log_bay_info(b, "Camera left the bay.");
                (void) custody_log_record(b->ctx->custody, CUSTODY_UNDOCKED, b->name, b->serial, NULL, NULL);
        }
        free(b->serial);
        free(b->model);
        free(b->firmware);
        free(b->device_cert);
        b->serial = b->model = b->firmware = NULL;
        b->device_cert = NULL;
        b->failures = 0;
        b->power_cycled = false;
        b->have_summary = false;
        b->clock_known = false;
        b->generic = NULL;
        (void) sd_event_source_set_enabled(b->debounce, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(b->retry, SD_EVENT_OFF);
}

/* The camera is gone for good: the docking ends. */
static void docking_end(Bay *b) {
        camera_release(b);
        docking_forget(b);
        bay_set_state(b, BAY_EMPTY);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        docking_end(userdata);
        return 0;
}

static void bay_step(Bay *b, BayState from);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Bay *b = userdata;

        if (b->camera && !b->camera->gone)
                bay_step(b, b->state);
        return 0;
}

static void on_recovered(Camera *c, int error, uint16_t rc, void *userdata);
static void camera_release(Bay *b);

static int on_power_on(sd_event_source *s, uint64_t usec, void *userdata) {
        Bay *b = userdata;
        _cleanup_free_ char *path = usb_port_disable_path(b->config->port);
        int r = path ? sysfs_write(path, "0") : -ENOMEM;

        if (r < 0) {
                bay_set_fault(b, DOCKD_MESSAGE_BAY_FAULT, "cannot power the port on again (%s)", strerror(-r));
                return 0;
        }
        log_bay_info(b, "Port %s powered on again.", b->config->port);
        /* If the camera does not come back, the docking ends as if it had left. */
        (void) sd_event_source_set_time_relative(b->debounce, b->ctx->config->removal_debounce + 5 * USEC_PER_SEC);
        (void) sd_event_source_set_enabled(b->debounce, SD_EVENT_ONESHOT);
        return 0;
}

/* The camera does not answer even after resets: cut its port's power for a
 * moment. It comes back as a new USB device; the debounce keeps the docking. */
static int power_cycle(Bay *b) {
        _cleanup_free_ char *path = usb_port_disable_path(b->config->port);
        int r;

        if (!path)
                return -EINVAL;
        b->power_cycled = true;
        camera_release(b);
        r = sysfs_write(path, "1");
        if (r < 0)
                return r;
        log_bay_warning(b, "Camera not responding; power-cycling port %s.", b->config->port);
        failpoint("power-cycle-off");
        (void) sd_event_source_set_time_relative(b->power, BAY_POWER_OFF_USEC);
        return sd_event_source_set_enabled(b->power, SD_EVENT_ONESHOT);
}

/* A camera operation failed. Unplugged: wait for hotplug. Otherwise recover the
 * camera (protocol §10: Cancel, Device Reset) and redo the step; then power-cycle
 * the port once; then give up: fault. */
static void generic_failed(Bay *b, int error, const char *what);

static void camera_failed(Bay *b, int error, const char *what) {
        int r;

        if (!b->camera || b->camera->gone || error == -ENODEV)
                return;
        b->offload = offload_free(b->offload);
        if (b->generic)
                return generic_failed(b, error, what);
        if (++b->failures > BAY_MAX_RESETS) {
                if (!b->power_cycled) {
                        log_bay_warning_errno(b, error, "Camera failed while %s: %m.", what);
                        r = power_cycle(b);
                        if (r >= 0)
                                return;
                        log_bay_warning_errno(b, r, "Cannot power-cycle port %s: %m", b->config->port);
                }
                {
                        struct json_object *m = json_object_new_object();
                        json_object_object_add(m, "while", json_object_new_string(what));
                        json_object_object_add(m, "error", json_object_new_string(strerror(-error)));
                        json_object_object_add(m, "resets", json_object_new_int(BAY_MAX_RESETS));
                        json_object_object_add(m, "power_cycled", json_object_new_boolean(b->power_cycled));
                        log_full_errno_ctx(LOG_ERR, error,
                                           (&(LogContext) {
                                                   .bay = b->name, .serial = b->serial,
                                                   .message_id = DOCKD_MESSAGE_BAY_FAULT,
                                                   .fields = (const LogField[]) { { "DOCKD_REASON", what }, {} },
                                           }),
                                           "Bay fault: camera keeps failing while %s (%m); nothing was deleted "
                                           "that central storage has not confirmed.", what);
                        bay_health_file_fault(b, "camera-not-responding", SEVERITY_ERROR, "report-malfunction", m,
                                         "The camera kept failing while %s (%s), also after resets and a power "
                                         "cycle.", what, strerror(-error));
                }
                if (b->camera)
                        camera_abandon(b->camera);
                return;
        }
        log_bay_warning_errno(b, error, "Camera failed while %s: %m. Recovering it (attempt %u of %u).", what,
                              b->failures, BAY_MAX_RESETS);
        r = camera_recover(b->camera, on_recovered, b);
        if (r < 0)
                camera_failed(b, r, "recovering");
}

static void on_recovered(Camera *c, int error, uint16_t rc, void *userdata) {
        Bay *b = userdata;

        if (c != b->camera)
                return;
        if (error < 0)
                return camera_failed(b, error, "being reset");
        log_bay_info(b, "Camera recovered; resuming.");
        (void) sd_event_source_set_time_relative(b->retry, 100 * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(b->retry, SD_EVENT_ONESHOT);
}

/* ---- offload ---- */

static void on_offload_done(Offload *o, int error, const OffloadSummary *s, void *userdata) {
        Bay *b = userdata;

        if (o != b->offload)
                return;
        if (error < 0) {
                /* b->offload is freed by camera_failed(); we are called from inside it
                 * as its last action, so that is safe. */
                camera_failed(b, error, "offloading");
                return;
        }
        b->summary = *s;
        b->have_summary = true;
        b->failures = 0;
        b->power_cycled = false;
        log_bay_info(b, "Offloaded: %u segment(s) pulled, %u deleted from the camera%s.", s->pulled, s->deleted,
                     s->delete_refused ? " (some deletions refused)" : "");
        /* A preservation request's hold is no alert: only integrity holds are. */
        if (s->quarantined > 0 || s->held_recordings > s->preserved) {
                /* An integrity alert is reported now, not after the charge. */
                char reason[160];
                snprintf(reason, sizeof reason,
                         "integrity alert: %u segment(s) quarantined, %u recording(s) kept on the camera for review",
                         s->quarantined, s->held_recordings - s->preserved);
                b->integrity_fault = true;
                free(b->fault_reason);
                b->fault_reason = strdup(reason);
                bay_set_state(b, BAY_FAULT);
        }
        bay_health_offload_done(b);
}

static void on_offload_officer(const char *officer_id, void *userdata) {
        bay_health_officer(userdata, officer_id);
}

static void on_offload_quarantined(const char *segment, const char *reason, void *userdata) {
        bay_health_quarantined(userdata, segment, reason);
}

static void on_offload_finding(const char *code, int severity, const char *segment, const char *summary,
                               void *userdata) {
        bay_health_offload_finding(userdata, code, (Severity) severity, segment, summary);
}

static void on_offload_delete_refused(const char *segment, uint16_t rc, void *userdata) {
        bay_health_delete_refused(userdata, segment, rc);
}

static void start_offload(Bay *b) {
        static const OffloadCallbacks callbacks = {
                .officer = on_offload_officer,
                .quarantined = on_offload_quarantined,
                .delete_refused = on_offload_delete_refused,
                .finding = on_offload_finding,
                .done = on_offload_done,
        };
        int r;

        b->offload = offload_free(b->offload);
        b->offload_done = false;
        bay_set_state(b, BAY_OFFLOADING);
        r = offload_start(b->ctx, b->camera, b->name, b->serial, &callbacks, b, &b->offload);
        if (r < 0)
                camera_failed(b, r, "listing its recordings");
}

/* ---- clock ---- */

/* The camera took the dock's time (corrected), or refused it (rc). */
static void clock_set_logged(Bay *b, bool corrected, uint16_t rc) {
        char drift[32];

        if (!corrected)
                return (void) log_bay_warning(b, "Camera refused to set its clock (0x%04x).", rc);
        snprintf(drift, sizeof drift, "%+" PRId64 " s", b->clock_drift);
        log_full_errno_ctx(LOG_NOTICE, 0,
                           (&(LogContext) {
                                   .bay = b->name, .serial = b->serial, .message_id = DOCKD_MESSAGE_CLOCK_ADJUSTED,
                                   .fields = (const LogField[]) { { "DOCKD_DRIFT", drift }, {} },
                           }),
                           "Camera clock was off by %s; set from the dock's clock.", drift);
}

static void on_time_set(Camera *c, int error, uint16_t rc, void *userdata) {
        Bay *b = userdata;

        if (c != b->camera)
                return;
        if (error < 0 && error != -EREMOTEIO)
                return camera_failed(b, error, "setting its clock");
        bay_health_clock_checked(b, error >= 0 ? CLOCK_CORRECTED : CLOCK_NOT_CORRECTED);
        clock_set_logged(b, error >= 0, rc);
        bay_health_start_tests(b, start_offload);
}

/* The camera's clock would be set, but the dock's own is not synchronised: a
 * wrong dock clock must not become the time stamp of evidence. */
static int clock_not_set_recorded(Bay *b) {
        static const char reason[] = "the dock's clock is not synchronised (adjtimex: STA_UNSYNC)";
        int r;

        r = custody_log_record(b->ctx->custody, CUSTODY_CLOCK_NOT_SET, b->name, b->serial, NULL,
                               (const LogField[]) { { "reason", reason }, {} });
        if (r < 0)
                return r;
        log_bay_warning(b, "Camera clock not set: %s.", reason);
        return 0;
}

static void clock_not_set(Bay *b) {
        if (clock_not_set_recorded(b) < 0)
                return bay_set_fault(b, DOCKD_MESSAGE_CUSTODY_FAILURE, "custody log cannot be written");
        bay_health_clock_checked(b, CLOCK_NOT_CORRECTED);
        bay_health_start_tests(b, start_offload);
}

/* The drift the camera's clock showed, in custody (and status) before anything
 * is done about it. */
static int clock_drift_recorded(Bay *b, int64_t drift_seconds) {
        char drift[32];

        b->clock_drift = drift_seconds;
        b->clock_known = true;
        snprintf(drift, sizeof drift, "%" PRId64, drift_seconds);
        return custody_log_record(b->ctx->custody, CUSTODY_CLOCK, b->name, b->serial, NULL,
                                  (const LogField[]) { { "drift_seconds", drift }, {} });
}

static void on_time(Camera *c, int error, uint16_t rc, time_t camera_time, void *userdata) {
        Bay *b = userdata;
        time_t now = time(NULL);
        int r;

        if (c != b->camera)
                return;
        if (error < 0 && error != -EREMOTEIO && error != -EBADMSG)
                return camera_failed(b, error, "reading its clock");
        if (error < 0) {
                log_bay_warning(b, "Camera clock unreadable; setting it.");
                b->clock_drift = 0;
        } else if (clock_drift_recorded(b, (int64_t) camera_time - (int64_t) now) < 0)
                return bay_set_fault(b, DOCKD_MESSAGE_CUSTODY_FAILURE, "custody log cannot be written");
        switch (health_clock_decision(b->ctx->config->clock_set, error >= 0, b->clock_drift,
                                      b->ctx->config->clock_drift_threshold, clock_synchronised())) {
        case CLOCK_NOT_SET_UNSYNCHRONISED:
                return clock_not_set(b);
        case CLOCK_SET:
                r = camera_set_time(c, now, on_time_set, b);
                if (r < 0)
                        camera_failed(b, r, "setting its clock");
                return;
        case CLOCK_LEAVE:
                break;
        }
        /* Left: within the threshold (no finding), or clock_set = no. */
        bay_health_clock_checked(b, CLOCK_LEFT_AS_CONFIGURED);
        bay_health_start_tests(b, start_offload);
}

static void sync_clock(Bay *b) {
        int r;

        bay_set_state(b, BAY_SYNCING);
        r = camera_get_time(b->camera, on_time, b);
        if (r < 0)
                camera_failed(b, r, "reading its clock");
}

/* ---- identification ---- */

static void untrusted(Bay *b, const char *reason) {
        struct json_object *m = json_object_new_object();

        (void) custody_log_record(b->ctx->custody, CUSTODY_UNTRUSTED, b->name, b->serial, NULL,
                               (const LogField[]) { { "reason", reason }, {} });
        log_full_errno_ctx(LOG_ERR, 0,
                           (&(LogContext) {
                                   .bay = b->name, .serial = b->serial, .message_id = DOCKD_MESSAGE_CAMERA_UNTRUSTED,
                                   .fields = (const LogField[]) { { "DOCKD_REASON", reason }, {} },
                           }),
                           "Camera could not be authenticated: %s. Nothing is taken from it or deleted.", reason);
        json_object_object_add(m, "reason", json_object_new_string(reason));
        bay_health_file_fault(b, "untrusted-camera", SEVERITY_CRITICAL, "approved-equipment", m,
                         "The camera could not be authenticated (%s); nothing was taken from it.", reason);
        free(b->fault_reason);
        b->fault_reason = strdup(reason);
        camera_abandon(b->camera);
}

static void prove_key(Bay *b, const uint8_t *cert, size_t size);
static void on_challenge(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata);

static void on_certificates(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Bay *b = userdata;
        PtpCertificate certs[PTP_MAX_CERTIFICATES];
        const uint8_t *der[PTP_MAX_CERTIFICATES];
        size_t der_size[PTP_MAX_CERTIFICATES], n = 0;
        _cleanup_free_ char *reason = NULL;
        int r;

        if (c != b->camera)
                return;
        if (error < 0 && error != -EREMOTEIO)
                return camera_failed(b, error, "reading its certificate");
        if (error < 0)
                return untrusted(b, "camera did not provide its certificate");
        if (ptp_certificates_parse(data, size, certs, &n) < 0)
                return untrusted(b, "camera sent a malformed certificate list");
        for (size_t i = 0; i < n; i++) {
                der[i] = certs[i].der;
                der_size[i] = certs[i].size;
        }
        r = trust_store_refresh_crl(b->ctx->trust, &reason);
        if (r < 0)
                log_bay_warning_errno(b, r, "Cannot reload the revocation lists, the last ones stay in force: %s",
                                      strna(reason));
        free(reason);
        reason = NULL;
        r = verify_device_certificates(b->ctx->trust, der, der_size, n, b->serial, &reason);
        if (r < 0)
                return untrusted(b, reason ?: "certificate not trusted");
        prove_key(b, certs[0].der, certs[0].size);
}

/* The certificate is genuine; now the camera must show it holds its key
 * (§8.4): a fresh nonce for every session, signed with the device key. */
static void prove_key(Bay *b, const uint8_t *cert, size_t size) {
        int r;

        free(b->device_cert);
        b->device_cert = memdup(cert, size);
        b->device_cert_size = size;
        if (!b->device_cert)
                return camera_failed(b, -ENOMEM, "proving its key");
        if (getrandom(b->nonce, sizeof b->nonce, 0) != (ssize_t) sizeof b->nonce)
                return camera_failed(b, errno > 0 ? -errno : -EIO, "proving its key");
        r = camera_sign_challenge(b->camera, b->nonce, on_challenge, b);
        if (r == -EOPNOTSUPP)
                return untrusted(b, "camera cannot answer a challenge (SignChallenge), so it cannot prove it holds its key");
        if (r < 0)
                camera_failed(b, r, "proving its key");
}

static void on_challenge(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Bay *b = userdata;
        _cleanup_free_ char *reason = NULL;
        int r;

        if (c != b->camera)
                return;
        if (error < 0 && error != -EREMOTEIO && error != -EMSGSIZE)
                return camera_failed(b, error, "proving its key");
        if (error < 0)
                return untrusted(b, "camera did not answer the key challenge");
        r = challenge_verify(b->device_cert, b->device_cert_size, b->nonce, b->serial, data, size, &reason);
        free(b->device_cert);
        b->device_cert = NULL;
        if (r < 0)
                return untrusted(b, reason ?: "challenge signature does not verify with the certificate's key");

        r = custody_log_record(b->ctx->custody, CUSTODY_IDENTIFIED, b->name, b->serial, NULL,
                            (const LogField[]) { { "model", b->model }, { "firmware", b->firmware }, {} });
        if (r < 0)
                return bay_set_fault(b, DOCKD_MESSAGE_CUSTODY_FAILURE, "custody log cannot be written");
        log_bay_info(b, "Camera %s %s (firmware %s) authenticated.", strna(b->model), b->serial, strna(b->firmware));
        sync_clock(b);
}

/* The device stays on the port, untouched: the bay shows why. */
static void leave_alone(Bay *b, Camera *c, const char *reason) {
        if (b->serial)   /* the camera waited for did not come back: this device took its port */
                docking_forget(b);
        b->survey = generic_survey_free(b->survey);
        bay_set_state(b, BAY_FAULT);
        free(b->fault_reason);
        b->fault_reason = strdup(reason);
        camera_abandon(c);
}

/* Not recovered as a signing camera is (camera_failed()): its Cancel stops
 * umtprd for good (tests/vdock/README.md), and a survey that takes nothing
 * has nothing to resume. The bay says why it let go; nothing was changed. */
static void survey_failed(Bay *b, Camera *c, const GenericCameraConfig *g, int error) {
        if (c->gone || error == -ENODEV)
                return;   /* unplugged: hotplug ends the docking */
        bay_generic_log(b, c, g, "generic camera: survey failed",
                    "is allow-listed by [generic.%s], but surveying it failed (%s); left untouched.", g->name,
                    strerror(-error));
        leave_alone(b, c, "generic camera: survey failed");
}

/* A camera that does not sign is not recovered as a signing one is
 * (camera_failed()): the Cancel request sent outside a transfer stops umtprd
 * 1.3.10 for good, and its Device Reset keeps the session (tests/vdock/README.md). The bay faults instead and says why; what was
 * pulled and sealed stays in the spool and goes to central storage, nothing
 * unconfirmed was deleted, and the next docking takes the rest. */
static void generic_failed(Bay *b, int error, const char *what) {
        log_full_errno_ctx(LOG_ERR, error,
                           (&(LogContext) {
                                   .bay = b->name, .serial = b->serial, .message_id = DOCKD_MESSAGE_BAY_FAULT,
                                   .fields = (const LogField[]) { { "DOCKD_REASON", what }, {} },
                           }),
                           "Bay fault: camera that does not sign failed while %s (%m); not reset (a reset stops "
                           "such cameras); what was pulled is kept, nothing unconfirmed was deleted.", what);
        bay_set_state(b, BAY_FAULT);
        free(b->fault_reason);
        b->fault_reason = strdup("generic camera: failed while offloading; dock it again");
        if (b->camera)
                camera_abandon(b->camera);
}

/* The camera that does not sign is docked: custody "docked", as for any camera. */
static int generic_docked(Bay *b, Camera *c) {
        const char *serial = camera_claimed_serial(c);

        if (b->serial && streq(b->serial, serial)) {
                log_bay_info(b, "Camera came back; continuing where it left off.");
                (void) sd_event_source_set_enabled(b->debounce, SD_EVENT_OFF);
                return 0;
        }
        if (b->serial)
                docking_forget(b);
        b->failures = 0;
        b->power_cycled = false;
        b->serial = strdup(serial);
        b->model = strdup(strna(c->info.model));
        b->firmware = strdup(strna(c->info.device_version));
        if (!b->serial || !b->model || !b->firmware)
                return -ENOMEM;
        b->docked_at = (usec_t) time(NULL) * USEC_PER_SEC;
        if (custody_log_record(b->ctx->custody, CUSTODY_DOCKED, b->name, b->serial, NULL,
                               (const LogField[]) { { "port", c->port }, { "sealed_by", "dock" }, {} }) < 0)
                return -EIO;
        log_bay_info(b, "Camera %s docked on port %s; it signs nothing: what it holds is sealed by the dock.",
                     b->serial, c->port);
        bay_health_docked(b);
        return 0;
}

/* A camera that does not sign told its DateTime: the drift is recorded as a
 * signing camera's is, and what the survey did about it ([generic.NAME]
 * clock_set) logged; then the same clock check. */
static int generic_clock(Bay *b, const GenericSurveyResult *res) {
        int r;

        if (!res->have_clock)
                return 0;
        r = clock_drift_recorded(b, res->clock_drift);
        if (r >= 0 && res->clock_decision == CLOCK_NOT_SET_UNSYNCHRONISED)
                r = clock_not_set_recorded(b);
        if (r < 0)
                return r;
        if (res->clock_decision == CLOCK_SET)
                clock_set_logged(b, res->clock_corrected, res->clock_set_rc);
        bay_health_clock_checked(b, res->clock_decision == CLOCK_LEAVE ? CLOCK_LEFT_AS_CONFIGURED
                                    : res->clock_decision == CLOCK_SET && res->clock_corrected ? CLOCK_CORRECTED
                                    : CLOCK_NOT_CORRECTED);
        return 0;
}

/* The survey of an allow-listed camera that does not sign is done: its
 * complete files are offloaded as a signing camera's segments are, each
 * sealed by the dock (offload_start_sealed()). */
static void on_surveyed(Camera *c, int error, const GenericSurveyResult *res, void *userdata) {
        static const OffloadCallbacks callbacks = {
                .quarantined = on_offload_quarantined,
                .delete_refused = on_offload_delete_refused,
                .finding = on_offload_finding,
                .done = on_offload_done,
        };
        Bay *b = userdata;
        const GenericCameraConfig *g = config_find_generic(b->ctx->config, c->usb_id, camera_claimed_serial(c));
        _cleanup_free_ char *note = NULL;
        size_t complete = 0;
        char battery[16] = "not offered", clock[32] = "not offered";
        const GenericListing *l;
        int r;

        if (c != b->camera || !g)
                return;
        if (error < 0)
                return survey_failed(b, c, g, error);
        l = res->listing;
        for (size_t i = 0; i < l->n_files; i++)
                complete += l->files[i].complete;
        if (res->have_battery)
                snprintf(battery, sizeof battery, "%u%%", res->battery_percent);
        if (res->have_clock)
                snprintf(clock, sizeof clock, "%+" PRId64 " s off", res->clock_drift);
        if (asprintf(&note, "generic camera: listed %zu recording(s); sealed by the dock", l->n_files) < 0)
                note = NULL;
        bay_generic_log(b, c, g, "generic camera: listed, sealed by the dock",
                    "is allow-listed by [generic.%s]: listed %zu recording(s), %zu complete, %zu still growing; "
                    "%zu other file(s) not recordings, %zu object(s) whose path cannot be told; battery %s, "
                    "clock %s. The complete ones are offloaded and sealed by the dock.",
                    g->name, l->n_files, complete, l->n_files - complete, l->n_not_wanted, l->n_skipped,
                    battery, clock);
        bay_generic_log_files(b, l);
        r = generic_docked(b, c);
        if (r >= 0)
                r = generic_clock(b, res);
        if (r < 0)
                return bay_set_fault(b, DOCKD_MESSAGE_CUSTODY_FAILURE, "custody log cannot be written");
        json_object_put(b->generic_status);
        b->generic_status = bay_generic_status(g, res, complete, strna(note));
        b->generic = g;
        b->offload = offload_free(b->offload);
        b->offload_done = false;
        bay_set_state(b, BAY_OFFLOADING);
        r = offload_start_sealed(b->ctx, c, b->name, b->serial, g, l, &callbacks, b, &b->offload);
        /* The listing is the survey's: its work is done once the offload has its inventory. */
        if (r < 0)
                generic_failed(b, r, "listing its recordings");
}

/* A device without the extension: a camera that does not sign if a
 * [generic.NAME] section allow-lists it, else (an officer's own phone, anything)
 * left untouched, said in one line. Its serial is whatever it claimed: compared
 * exactly with the configured names, and shown only when it is one. An
 * allow-listed camera is surveyed (read only) and, as its offload is not built
 * yet, left untouched too. */
static void not_signing(Bay *b, Camera *c) {
        const char *serial = camera_claimed_serial(c);
        const GenericCameraConfig *g = config_find_generic(b->ctx->config, c->usb_id,
                                                           serial && name_is_valid(serial, 64) ? serial : NULL);
        int r;

        if (!g) {
                bay_generic_log(b, c, NULL, "not a signing camera, not allow-listed",
                            "does not announce the %s extension and no [generic.NAME] section allow-lists it; "
                            "left untouched.", PTP_EXTENSION_BWC);
                return leave_alone(b, c, "not a body-worn camera");
        }
        if (!serial_is_valid(serial)) {
                /* Its serial names its evidence in object keys (protocol §12.1). */
                bay_generic_log(b, c, g, "generic camera: serial not usable",
                            "is allow-listed by [generic.%s], but its serial is not [A-Z0-9][A-Z0-9-]{2,31}; "
                            "left untouched.", g->name);
                return leave_alone(b, c, "generic camera: serial not usable");
        }
        b->survey = generic_survey_free(b->survey);
        r = generic_survey_start(c, g, b->ctx->config->clock_drift_threshold, on_surveyed, b, &b->survey);
        if (r < 0)
                survey_failed(b, c, g, r);
}

static void on_identified(Camera *c, int error, uint16_t rc, void *userdata) {
        Bay *b = userdata;
        const char *serial;
        bool same;
        int r;

        if (c != b->camera)
                return;
        if (error == -EMEDIUMTYPE)
                return not_signing(b, c);
        if (error < 0)
                return camera_failed(b, error, "identifying itself");

        serial = camera_serial(c);
        same = b->serial && streq(b->serial, serial);
        if (b->serial && !same)
                /* Another camera arrived while we waited for the first to return. */
                docking_forget(b);
        if (same) {
                log_bay_info(b, "Camera came back; continuing where it left off.");
                (void) sd_event_source_set_enabled(b->debounce, SD_EVENT_OFF);
        } else {
                bool resumed = bay_health_docking_resumable(b, serial);

                b->failures = 0;
                b->power_cycled = false;
                b->serial = strdup(serial);
                b->model = strdup(strna(c->info.model));
                b->firmware = strdup(strna(c->info.device_version));
                b->docked_at = (usec_t) time(NULL) * USEC_PER_SEC;
                r = custody_log_record(b->ctx->custody, CUSTODY_DOCKED, b->name, b->serial, NULL,
                                    (const LogField[]) { { "port", c->port }, { "resumed", resumed ? "yes" : "no" }, {} });
                if (r < 0)
                        return bay_set_fault(b, DOCKD_MESSAGE_CUSTODY_FAILURE, "custody log cannot be written");
                log_bay_info(b, "Camera %s docked on port %s.", b->serial, c->port);
                bay_health_docked(b);
        }
        r = camera_get_certificates(c, on_certificates, b);
        if (r == -EOPNOTSUPP)
                return untrusted(b, "camera cannot present a certificate");
        if (r < 0)
                camera_failed(b, r, "reading its certificate");
}

static void identify(Bay *b) {
        int r;

        bay_set_state(b, BAY_IDENTIFYING);
        r = camera_identify(b->camera, on_identified, b);
        if (r < 0)
                camera_failed(b, r, "identifying itself");
}

/* Redo the step that failed, after a recovery. */
static void bay_step(Bay *b, BayState from) {
        switch (from) {
        case BAY_IDENTIFYING:
                identify(b);
                break;
        case BAY_SYNCING:
                sync_clock(b);
                break;
        default:
                start_offload(b);
                break;
        }
}

static void on_camera_event(Camera *c, const PtpContainer *e, void *userdata) {
        Bay *b = userdata;

        if (c == b->camera)
                bay_health_event(b, e);
}

/* ---- hotplug ---- */

void bay_device_arrived(Bay *b, libusb_device *dev, const char *port) {
        _cleanup_(camera_unrefp) Camera *c = NULL;
        int r;

        if (!b->config->enabled) {
                log_bay_info(b, "Device on port %s ignored: the bay is disabled.", port);
                return;
        }
        if (b->disabled) {
                if (b->parked != dev) {
                        if (b->parked)
                                libusb_unref_device(b->parked);
                        b->parked = libusb_ref_device(dev);
                        log_bay_info(b, "Device on port %s left alone: an operator disabled the bay.", port);
                }
                bay_health_inhibit_charge(b, true);
                bay_update_leds(b);
                return;
        }
        if (b->camera && !b->camera->gone && b->camera->device == dev)
                return;
        /* Whatever was there is gone (we may not have heard yet). */
        camera_release(b);
        r = camera_open(b->ctx->usb, dev, port, b->ctx->config, &c);
        if (r == -ENODEV) {
                log_bay_debug(b, "Device on port %s has no still-image interface; ignoring it.", port);
                return;
        }
        if (r < 0) {
                log_bay_error_errno(b, r, "Cannot open the device on port %s: %m", port);
                bay_set_fault(b, DOCKD_MESSAGE_BAY_FAULT, "cannot open the device on port %s", port);
                return;
        }
        b->camera = TAKE_PTR(c);
        camera_set_event_handler(b->camera, on_camera_event, b);
        /* A camera is on the port again: whether the waited-for docking goes on
         * is for its identity to say (on_identified), however long identifying
         * takes. A debounce left running would end the docking, and release
         * this camera, in the middle of it. */
        (void) sd_event_source_set_enabled(b->debounce, SD_EVENT_OFF);
        identify(b);
}

void bay_device_left(Bay *b, libusb_device *dev) {
        if (b->parked && b->parked == dev) {
                libusb_unref_device(b->parked);
                b->parked = NULL;
                bay_update_leds(b);
                return;
        }
        if (!b->camera || b->camera->device != dev)
                return;
        camera_release(b);
        if (!b->serial) {
                docking_end(b);
                return;
        }
        log_bay_info(b, "Camera disconnected; waiting %.1fs for it to come back.",
                     (double) b->ctx->config->removal_debounce / USEC_PER_SEC);
        (void) sd_event_source_set_time_relative(b->debounce, b->ctx->config->removal_debounce);
        (void) sd_event_source_set_enabled(b->debounce, SD_EVENT_ONESHOT);
}

void bay_segment_confirmed(Bay *b, const SegmentId *id) {
        offload_segment_confirmed(b->offload, id);
}

void bay_spool_freed(Bay *b) {
        offload_spool_freed(b->offload);
}

void bay_set_enabled(Bay *b, bool enabled) {
        libusb_device *dev;

        if (enabled == !b->disabled)
                return;
        if (!enabled) {
                dev = b->camera && !b->camera->gone ? libusb_ref_device(b->camera->device) : NULL;
                camera_release(b);
                if (b->serial)
                        docking_forget(b);
                b->disabled = true;
                b->parked = dev;
                bay_health_inhibit_charge(b, true);
                log_bay_notice(b, "Bay disabled by an operator%s.", dev ? "; the camera in it is left alone" : "");
                bay_set_state(b, BAY_DISABLED);
                bay_update_leds(b);
                return;
        }
        b->disabled = false;
        dev = TAKE_PTR(b->parked);
        bay_health_inhibit_charge(b, false);
        log_bay_notice(b, "Bay enabled by an operator.");
        bay_set_state(b, BAY_EMPTY);
        if (dev) {
                char port[64];

                if (usb_device_port_path(dev, port, sizeof port) >= 0)
                        bay_device_arrived(b, dev, port);
                libusb_unref_device(dev);
        }
}

bool bay_device_present(Bay *b) {
        return (b->camera && !b->camera->gone) || b->parked;
}

void bay_shutdown(Bay *b) {
        camera_release(b);
        if (b->parked)
                libusb_unref_device(TAKE_PTR(b->parked));
}

/* ---- object ---- */

/* A dockd stopped in the middle of a power cycle (between power_cycle() and
 * on_power_on()) left its port switched off: the camera would never return. */
/* A dockd stopped inside a power cycle (bay_power_cycle) leaves the port off, and
 * its camera never comes back. Switch an enabled bay's port on at start, without
 * reading the attribute first: writing 0 to an enabled port changes nothing, and
 * a read is not what the kernel's attribute is for (vdock's cannot be read). */
static void port_power_restore(Bay *b) {
        _cleanup_free_ char *path = usb_port_disable_path(b->config->port);
        int r;

        if (!b->config->enabled || !path)
                return;
        r = sysfs_write(path, "0");
        if (r < 0 && r != -ENOENT)
                (void) log_bay_full_errno(b, LOG_DEBUG, r, "Cannot switch port %s on at start: %m", b->config->port);
}

int bay_new(const DockContext *ctx, unsigned index, const BayCallbacks *cb, void *userdata, Bay **ret) {
        Bay *b;
        int r;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->n_ref = 1;
        b->ctx = ctx;
        b->cb = *cb;
        b->userdata = userdata;
        b->index = index;
        snprintf(b->name, sizeof b->name, "%u", index);
        b->config = &ctx->config->bays[index - 1];
        b->state = BAY_EMPTY;
        r = sd_event_add_time(ctx->event, &b->debounce, CLOCK_MONOTONIC, 0, 0, on_debounce, b);
        if (r >= 0)
                r = sd_event_add_time(ctx->event, &b->retry, CLOCK_MONOTONIC, 0, 0, on_retry, b);
        if (r >= 0)
                r = sd_event_add_time(ctx->event, &b->power, CLOCK_MONOTONIC, 0, 0, on_power_on, b);
        if (r < 0) {
                bay_unref(b);
                return r;
        }
        (void) sd_event_source_set_enabled(b->debounce, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(b->retry, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(b->power, SD_EVENT_OFF);
        r = bay_health_init(b);
        if (r < 0) {
                bay_unref(b);
                return r;
        }
        port_power_restore(b);
        *ret = b;
        return 0;
}

static Bay *bay_free(Bay *b) {
        bay_shutdown(b);
        bay_health_free(b);
        sd_event_source_disable_unref(b->debounce);
        sd_event_source_disable_unref(b->retry);
        sd_event_source_disable_unref(b->power);
        free(b->serial);
        free(b->model);
        free(b->firmware);
        free(b->device_cert);
        free(b->fault_reason);
        json_object_put(b->generic_status);
        free(b);
        return NULL;
}

DEFINE_REF_UNREF_FUNC(Bay, bay);

struct json_object *bay_status_json(Bay *b) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "bay", json_object_new_int((int) b->index));
        json_object_object_add(o, "port", json_object_new_string(strna(b->config->port)));
        json_object_object_add(o, "state", json_object_new_string(bay_state_to_string(b->state)));
        if (b->fault_reason)
                json_object_object_add(o, "fault", json_object_new_string(b->fault_reason));
        if (b->serial) {
                json_object_object_add(o, "camera", json_object_new_string(b->serial));
                json_object_object_add(o, "model", json_object_new_string(strna(b->model)));
                json_object_object_add(o, "firmware", json_object_new_string(strna(b->firmware)));
                json_object_object_add(o, "docked_at", json_object_new_int64((int64_t) (b->docked_at / USEC_PER_SEC)));
                json_object_object_add(o, "connected", json_object_new_boolean(b->camera && !b->camera->gone));
        }
        if (b->generic_status)
                json_object_object_add(o, "generic", json_object_get(b->generic_status));
        if (b->clock_known)
                json_object_object_add(o, "clock_drift_seconds", json_object_new_int64(b->clock_drift));
        if (b->offload) {
                OffloadProgress p;
                const OffloadSummary *s = offload_summary(b->offload);
                struct json_object *po = json_object_new_object();

                offload_get_progress(b->offload, &p);
                if (p.segment)
                        json_object_object_add(po, "segment", json_object_new_string(p.segment));
                json_object_object_add(po, "offset", json_object_new_int64((int64_t) p.offset));
                json_object_object_add(po, "size", json_object_new_int64((int64_t) p.size));
                json_object_object_add(po, "segments_done", json_object_new_int((int) p.done));
                json_object_object_add(po, "segments_total", json_object_new_int((int) p.total));
                json_object_object_add(po, "bytes_pulled", json_object_new_int64((int64_t) s->bytes_pulled));
                json_object_object_add(po, "bytes_done", json_object_new_int64((int64_t) p.bytes_done));
                json_object_object_add(po, "bytes_total", json_object_new_int64((int64_t) p.bytes_total));
                json_object_object_add(po, "waiting_for_storage", json_object_new_boolean(p.waiting_for_storage));
                json_object_object_add(po, "spool_full", json_object_new_boolean(p.spool_full));
                json_object_object_add(o, "progress", po);
        }
        if (b->serial) {
                struct json_object *fa = json_object_new_array();
                for (size_t i = 0; i < b->findings.n; i++) {
                        struct json_object *fo = json_object_new_object();
                        json_object_object_add(fo, "code", json_object_new_string(b->findings.items[i].code));
                        json_object_object_add(fo, "severity",
                                               json_object_new_string(severity_to_string(b->findings.items[i].severity)));
                        json_object_object_add(fo, "summary", json_object_new_string(b->findings.items[i].summary));
                        json_object_array_add(fa, fo);
                }
                json_object_object_add(o, "findings", fa);
                if (b->report_id[0])
                        json_object_object_add(o, "report", json_object_new_string(b->report_id));
                if (b->officer_id)
                        json_object_object_add(o, "officer_id", json_object_new_string(b->officer_id));
                if (b->have_battery && b->battery.design_mah)
                        json_object_object_add(o, "battery_health_percent",
                                               json_object_new_double((double) b->battery.full_charge_mah * 100 /
                                                                      b->battery.design_mah));
                json_object_object_add(o, "charged", json_object_new_boolean(b->charge_full));
                json_object_object_add(o, "self_test", json_object_new_string(bay_health_self_test_status(b)));
        }
        if (b->have_summary) {
                struct json_object *so = json_object_new_object();
                const OffloadSummary *s = &b->summary;

                json_object_object_add(so, "segments", json_object_new_int((int) s->segments));
                json_object_object_add(so, "pulled", json_object_new_int((int) s->pulled));
                json_object_object_add(so, "verified", json_object_new_int((int) s->verified));
                json_object_object_add(so, "sealed", json_object_new_int((int) s->sealed));
                json_object_object_add(so, "quarantined", json_object_new_int((int) s->quarantined));
                json_object_object_add(so, "deleted", json_object_new_int((int) s->deleted));
                json_object_object_add(so, "delete_refused", json_object_new_int((int) s->delete_refused));
                json_object_object_add(so, "held_recordings", json_object_new_int((int) s->held_recordings));
                json_object_object_add(so, "bytes_pulled", json_object_new_int64((int64_t) s->bytes_pulled));
                json_object_object_add(so, "bytes_reread", json_object_new_int64((int64_t) s->bytes_reread));
                json_object_object_add(so, "hash_seconds", json_object_new_double((double) s->hash_usec / USEC_PER_SEC));
                json_object_object_add(o, "summary", so);
        }
        return o;
}
