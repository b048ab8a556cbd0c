/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c: see metrics.h. Every family is declared (HELP, TYPE) even when it
 * has no sample now, so the set of names does not depend on what the dock is
 * doing; a series that would mean "none" (the oldest unconfirmed segment when
 * everything is confirmed) is left out rather than given a made-up value. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bay-state.h"
#include "config.h"
#include "custody-tally.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "metrics-http.h"
#include "metrics.h"
#include "parse-util.h"
#include "prom-text.h"
#include "reconcile.h"
#include "report-outbox.h"
#include "socket-util.h"

#define METRICS_CAMERAS_MAX 256

static inline void json_object_putp(struct json_object **p) {
        json_object_put(*p);
}

typedef struct CameraHealth {
        char serial[65];
        double ratio;
        usec_t seen;               /* CLOCK_MONOTONIC, for the cap */
} CameraHealth;

struct Metrics {
        Manager *manager;
        sd_event_source *timer;
        MetricsHttp *http;
        char *text;                /* served over HTTP: the last one written */
        usec_t started;            /* CLOCK_REALTIME */
        CameraHealth cameras[METRICS_CAMERAS_MAX];
        size_t n_cameras;
};

static double seconds(usec_t t) {
        return (double) t / USEC_PER_SEC;
}

/* ---- battery health of cameras docked since start ---- */

static void camera_health_note(Metrics *x, const char *serial, double ratio) {
        CameraHealth *slot = NULL;
        usec_t now = 0;

        if (!name_is_valid(serial, 64))
                return;   /* never a label value dockd has not validated */
        (void) sd_event_now(x->manager->event, CLOCK_MONOTONIC, &now);
        for (size_t i = 0; i < x->n_cameras && !slot; i++)
                if (streq(x->cameras[i].serial, serial))
                        slot = &x->cameras[i];
        if (!slot && x->n_cameras < METRICS_CAMERAS_MAX)
                slot = &x->cameras[x->n_cameras++];
        if (!slot) {   /* full: the camera seen longest ago makes room */
                slot = &x->cameras[0];
                for (size_t i = 1; i < x->n_cameras; i++)
                        if (x->cameras[i].seen < slot->seen)
                                slot = &x->cameras[i];
        }
        snprintf(slot->serial, sizeof slot->serial, "%s", serial);
        slot->ratio = ratio;
        slot->seen = now;
}

/* ---- the families ---- */

static void render_info(PromText *p, Manager *m, Metrics *x) {
        usec_t now = 0;

        (void) sd_event_now(m->event, CLOCK_REALTIME, &now);
        prom_family(p, "dockd_build_info", "gauge", "dockd's version; always 1");
        prom_sample(p, "dockd_build_info", 1, "version", PACKAGE_VERSION, NULL);
        prom_family(p, "dockd_dock_info", "gauge", "This dock's name and central storage backend; always 1");
        prom_sample(p, "dockd_dock_info", 1, "dock", m->config->dock_name, "backend",
                    storage_backend_to_string(m->config->storage_backend), NULL);
        prom_family(p, "dockd_start_time_seconds", "gauge", "When this dockd started, Unix time");
        prom_sample(p, "dockd_start_time_seconds", seconds(x->started), NULL);
        prom_family(p, "dockd_metrics_timestamp_seconds", "gauge", "When these metrics were produced, Unix time");
        prom_sample(p, "dockd_metrics_timestamp_seconds", seconds(now), NULL);
}

static void render_bays(PromText *p, Manager *m, Metrics *x) {
        prom_family(p, "dockd_bay_state", "gauge", "1 for the state each bay is in, 0 for the others");
        for (unsigned i = 0; i < m->config->n_bays; i++) {
                _cleanup_(json_object_putp) struct json_object *o = m->bays[i] ? bay_status_json(m->bays[i]) : NULL;
                const char *state = o ? json_object_get_string(json_object_object_get(o, "state")) : "empty";
                char bay[8];

                snprintf(bay, sizeof bay, "%u", i + 1);
                for (BayState s = 0; s < _BAY_STATE_MAX; s++)
                        prom_sample(p, "dockd_bay_state", streq_ptr(state, bay_state_to_string(s)), "bay", bay,
                                    "state", bay_state_to_string(s), NULL);
        }
        prom_family(p, "dockd_bay_camera_present", "gauge", "1 while a camera is docked in the bay");
        for (unsigned i = 0; i < m->config->n_bays; i++) {
                _cleanup_(json_object_putp) struct json_object *o = m->bays[i] ? bay_status_json(m->bays[i]) : NULL;
                struct json_object *cam = o ? json_object_object_get(o, "camera") : NULL, *h;
                char bay[8];

                snprintf(bay, sizeof bay, "%u", i + 1);
                prom_sample(p, "dockd_bay_camera_present", cam != NULL, "bay", bay, NULL);
                if (cam && json_object_object_get_ex(o, "battery_health_percent", &h))
                        camera_health_note(x, json_object_get_string(cam), json_object_get_double(h) / 100);
        }
        prom_family(p, "dockd_camera_battery_health_ratio", "gauge",
                    "Full-charge over design capacity of each camera's battery at its last docking");
        for (size_t i = 0; i < x->n_cameras; i++)
                prom_sample(p, "dockd_camera_battery_health_ratio", x->cameras[i].ratio, "serial",
                            x->cameras[i].serial, NULL);
}

static const char *const stage_help[_TALLY_STAGE_MAX][2] = {
        [TALLY_PULLED] = { "Segments pulled in full from cameras", "Video bytes of the segments pulled" },
        [TALLY_VERIFIED] = { "Segments that verified", "Video bytes of the segments that verified" },
        [TALLY_QUARANTINED] = { "Segments that failed verification", "Video bytes of the quarantined segments" },
        [TALLY_UPLOADED] = { "Segment objects central storage confirmed", "Bytes of the confirmed segment objects" },
        [TALLY_CONFIRMED] = { "Segments whose three objects central storage confirmed", "Video bytes of the confirmed segments" },
        [TALLY_DELETED] = { "Segments deleted from cameras", "Video bytes of the segments deleted from cameras" },
};

static void render_segments(PromText *p, Manager *m) {
        const TallyCounts *c = custody_tally_counts(m->tally);

        for (TallyStage s = 0; s < _TALLY_STAGE_MAX; s++) {
                char name[64], bytes[64];

                snprintf(name, sizeof name, "dockd_%s_%s_total", tally_stage_to_string(s),
                         s == TALLY_UPLOADED ? "objects" : "segments");
                snprintf(bytes, sizeof bytes, "dockd_%s_bytes_total", tally_stage_to_string(s));
                prom_family(p, name, "counter", stage_help[s][0]);
                prom_sample(p, name, (double) c->count[s], NULL);
                prom_family(p, bytes, "counter", stage_help[s][1]);
                prom_sample(p, bytes, (double) c->bytes[s], NULL);
        }
}

static void render_spool(PromText *p, Manager *m) {
        Spool *s = m->dock.spool;
        uint64_t free_bytes = 0;
        size_t n = 0;
        usec_t oldest = 0;

        prom_family(p, "dockd_spool_used_bytes", "gauge", "Bytes in the spool");
        prom_sample(p, "dockd_spool_used_bytes", (double) spool_usage(s), NULL);
        prom_family(p, "dockd_spool_quota_bytes", "gauge", "The spool's quota ([spool] quota)");
        prom_sample(p, "dockd_spool_quota_bytes", (double) m->config->spool_quota, NULL);
        prom_family(p, "dockd_spool_free_bytes", "gauge", "Free space of the spool's file system");
        if (spool_fs_free(s, &free_bytes) >= 0)
                prom_sample(p, "dockd_spool_free_bytes", (double) free_bytes, NULL);
        prom_family(p, "dockd_spool_full", "gauge", "1 while pulls are paused for lack of space");
        prom_sample(p, "dockd_spool_full", spool_is_full(s), NULL);
        central_unconfirmed(m->dock.central, &n, &oldest);
        prom_family(p, "dockd_unconfirmed_segments", "gauge", "Segments pulled that central storage has not confirmed");
        prom_sample(p, "dockd_unconfirmed_segments", (double) n, NULL);
        prom_family(p, "dockd_oldest_unconfirmed_segment_timestamp_seconds", "gauge",
                    "When the oldest segment central storage has not confirmed was pulled, Unix time (absent when none)");
        if (n > 0)
                prom_sample(p, "dockd_oldest_unconfirmed_segment_timestamp_seconds", seconds(oldest), NULL);
}

static void render_upload(PromText *p, Manager *m) {
        UploaderStats us = {};

        uploader_get_stats(central_uploader(m->dock.central), &us);
        prom_family(p, "dockd_upload_sent_bytes_total", "counter", "Bytes sent to central storage, resends included");
        prom_sample(p, "dockd_upload_sent_bytes_total", (double) us.bytes_sent, NULL);
        prom_family(p, "dockd_upload_queued_objects", "gauge", "Upload jobs waiting or running");
        prom_sample(p, "dockd_upload_queued_objects", (double) us.queued, NULL);
        prom_family(p, "dockd_upload_failures_total", "counter", "Failed central storage requests, by kind");
        for (UploadFailure k = 0; k < _UPLOAD_FAILURE_MAX; k++)
                prom_sample(p, "dockd_upload_failures_total", (double) us.failures[k], "kind",
                            upload_failure_to_string(k), NULL);
        prom_family(p, "dockd_storage_failing", "gauge", "1 while central storage is failing");
        prom_sample(p, "dockd_storage_failing", us.failing, NULL);
}

static void render_reports(PromText *p, Manager *m) {
        ReportOutboxStats rs = {};

        report_outbox_get_stats(m->dock.reports, &rs);
        prom_family(p, "dockd_reports_filed_total", "counter", "Reports filed since dockd started, by severity");
        for (Severity s = SEVERITY_WARNING; s <= SEVERITY_CRITICAL; s++)
                prom_sample(p, "dockd_reports_filed_total", (double) rs.filed[s], "severity", severity_to_string(s), NULL);
        prom_family(p, "dockd_findings_total", "counter", "Findings in the reports filed since dockd started, by code");
        for (size_t i = 0; i < rs.n_findings; i++)
                prom_sample(p, "dockd_findings_total", (double) rs.finding_counts[i], "kind", rs.finding_codes[i], NULL);
        prom_family(p, "dockd_report_outbox_undelivered", "gauge",
                    "Reports not yet in central storage or not yet accepted by the webhook");
        prom_sample(p, "dockd_report_outbox_undelivered", (double) rs.undelivered, NULL);
        prom_family(p, "dockd_report_oldest_undelivered_timestamp_seconds", "gauge",
                    "When the oldest undelivered report was filed, Unix time (absent when none)");
        if (rs.undelivered > 0)
                prom_sample(p, "dockd_report_oldest_undelivered_timestamp_seconds", (double) rs.oldest_undelivered, NULL);
}

static void render_custody(PromText *p, Manager *m) {
        CustodyLog *l = m->dock.custody;
        uint64_t next = custody_log_next_seq(l);
        usec_t seal = custody_log_last_seal(l);
        _cleanup_strv_free_ char **pending = NULL;
        int n_pending = custody_log_list_sealed(l, &pending);

        prom_family(p, "dockd_custody_seq", "gauge", "Seq of the custody log's last record");
        if (next > 0)
                prom_sample(p, "dockd_custody_seq", (double) (next - 1), NULL);
        prom_family(p, "dockd_custody_last_seal_timestamp_seconds", "gauge", "When the custody log last sealed a file, Unix time");
        if (seal > 0)
                prom_sample(p, "dockd_custody_last_seal_timestamp_seconds", seconds(seal), NULL);
        prom_family(p, "dockd_custody_sealed_pending_files", "gauge", "Sealed custody files not yet in central storage");
        if (n_pending >= 0)
                prom_sample(p, "dockd_custody_sealed_pending_files", (double) n_pending, NULL);
        prom_family(p, "dockd_custody_failing", "gauge", "1 while the custody log cannot be written");
        prom_sample(p, "dockd_custody_failing", custody_log_failing(l), NULL);
}

static uint64_t last_u64(struct json_object *last, const char *key) {
        struct json_object *v;
        return last && json_object_object_get_ex(last, key, &v) ? json_object_get_uint64(v) : 0;
}

static void render_reconcile(PromText *p, Manager *m) {
        struct json_object *last = reconciler_last(m->reconciler), *problems = NULL;
        static const char *const kinds[] = { "missing", "altered", "retention", "legal_hold" };

        prom_family(p, "dockd_reconcile_runs_total", "counter", "Reconciliation runs since dockd started, by result");
        for (ReconcileResultKind k = 0; k < _RECONCILE_RESULT_MAX; k++)
                prom_sample(p, "dockd_reconcile_runs_total", (double) reconciler_runs(m->reconciler, k), "result",
                            reconcile_result_to_string(k), NULL);
        prom_family(p, "dockd_reconcile_last_run_timestamp_seconds", "gauge",
                    "When the last finished reconciliation started, Unix time");
        prom_family(p, "dockd_reconcile_last_duration_seconds", "gauge", "How long the last reconciliation took");
        prom_family(p, "dockd_reconcile_last_checked_objects", "gauge", "Objects the last reconciliation checked");
        prom_family(p, "dockd_reconcile_last_unchecked_objects", "gauge", "Objects the last reconciliation could not check");
        prom_family(p, "dockd_reconcile_last_problems", "gauge", "What the last reconciliation found, by kind");
        if (!last)
                return;
        prom_sample(p, "dockd_reconcile_last_run_timestamp_seconds", seconds(reconciler_last_started(m->reconciler)), NULL);
        prom_sample(p, "dockd_reconcile_last_duration_seconds",
                    json_object_get_double(json_object_object_get(last, "duration_seconds")), NULL);
        prom_sample(p, "dockd_reconcile_last_checked_objects", (double) last_u64(last, "objects"), NULL);
        prom_sample(p, "dockd_reconcile_last_unchecked_objects", (double) last_u64(last, "unchecked"), NULL);
        json_object_object_get_ex(last, "problems", &problems);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                prom_sample(p, "dockd_reconcile_last_problems", (double) last_u64(problems, kinds[i]), "kind", kinds[i],
                            NULL);
}

char *metrics_render(Manager *m, Metrics *x) {
        _cleanup_(prom_text_freep) PromText *p = NULL;

        if (prom_text_new(&p) < 0)
                return NULL;
        render_info(p, m, x);
        render_bays(p, m, x);
        render_segments(p, m);
        render_spool(p, m);
        render_upload(p, m);
        render_reports(p, m);
        render_custody(p, m);
        render_reconcile(p, m);
        return prom_text_finish(p);
}

/* ---- the textfile and the timer ---- */

/* A new file of dockd's own at the temporary name: the directory is shared
 * (node_exporter, other textfile writers), so whatever is found there (a link
 * to another file, someone else's file) goes, and is never written through. */
static int textfile_create(const char *tmp) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);

        if (fd < 0 && errno == EEXIST) {
                if (unlink(tmp) < 0)
                        return -errno;
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        }
        return fd < 0 ? -errno : fd;
}

/* node_exporter reads *.prom: the temporary name must not end so. No fsync:
 * these are figures, not evidence, and a crash leaves the last whole file. */
static int textfile_write(const char *path, const char *text) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.tmp-%d", path, (int) getpid()) < 0)
                return -ENOMEM;
        fd = textfile_create(tmp);
        if (fd < 0)
                return fd;
        r = write_all(fd, text, strlen(text));
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static void metrics_update(Metrics *x) {
        Manager *m = x->manager;
        char *text = metrics_render(m, x);
        int r;

        if (!text)
                return (void) log_oom();
        free(x->text);
        x->text = text;
        if (!m->config->metrics_textfile)
                return;
        r = textfile_write(m->config->metrics_textfile, text);
        if (r < 0)
                log_full_errno(LOG_WARNING, r, "Cannot write the metrics to %s: %m", m->config->metrics_textfile);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Metrics *x = userdata;

        metrics_update(x);
        (void) sd_event_source_set_time_relative(s, x->manager->config->metrics_interval);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static const char *http_text(void *userdata) {
        Metrics *x = userdata;
        return x->text;
}

int metrics_new(Manager *m, Metrics **ret) {
        _cleanup_(metrics_freep) Metrics *x = NULL;
        const DockdConfig *c = m->config;
        int r;

        *ret = NULL;
        if (!c->metrics_textfile && !c->metrics_listen)
                return 0;
        x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        x->manager = m;
        (void) sd_event_now(m->event, CLOCK_REALTIME, &x->started);
        if (c->metrics_listen) {
                struct sockaddr_storage addr;
                socklen_t len;
                r = parse_listen_address(c->metrics_listen, &addr, &len);
                if (r >= 0)
                        r = metrics_http_new(m->event, (const struct sockaddr *) &addr, len, http_text, x, &x->http);
                if (r < 0)
                        return log_error_errno(r, "[metrics] listen=%s: cannot listen: %m", c->metrics_listen);
        }
        r = sd_event_add_time_relative(m->event, &x->timer, CLOCK_MONOTONIC, 0, 0, on_timer, x);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the metrics timer: %m");
        *ret = TAKE_PTR(x);
        return 0;
}

Metrics *metrics_free(Metrics *x) {
        if (!x)
                return NULL;
        sd_event_source_disable_unref(x->timer);
        metrics_http_free(x->http);
        free(x->text);
        free(x);
        return NULL;
}
