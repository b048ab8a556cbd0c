/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the files dockd reads back from its state directory at start-up, as a
 * crash, a full disk or someone with access may have left them: a segment's
 * state in the spool (spool_state_load, and the spool's scan), the resume state
 * of an s3 and of a tus upload (s3_put_state_load, tus_state_read), a report's
 * status in the outbox (report_status_parse), a camera's history
 * (camera_history_load, then the checks that use it) and a bay's docking record
 * (docking_record_load). Input: byte 0 picks the file, the rest is its content,
 * written where dockd reads it.
 *
 * Beyond "no crash, no leak, no overread": what is accepted is what dockd could
 * have written (a state or record saved again reads back the same), and what
 * is refused is -EBADMSG (no guess at what a damaged file meant). */
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend-tus.h"
#include "camera-history.h"
#include "docking-record.h"
#include "dockd-config.h"
#include "fuzz.h"
#include "manifest.h"
#include "report-outbox.h"
#include "s3-put.h"
#include "spool.h"

enum { SPOOL_STATE, S3_STATE, TUS_STATE, REPORT_STATUS, CAMERA_HISTORY, DOCKING_RECORD, _KIND_MAX };

#define SERIAL "BWC-0001"
#define RECORDING "20261121T221500Z-0001"
#define KEY "evidence/BWC-0001/20261121T221500Z-0001/000001.mp4"
#define OBJECT_SIZE (20 * 1024 * 1024)
#define PART_SIZE (8 * 1024 * 1024)

static char *root, *spool_dir_path, *state_path, *upload_state, *history, *record;
static Spool *spool;
static DockdConfig *config;
static const SegmentId segment = { .serial = SERIAL, .recording = RECORDING, .index = 1 };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char *p;

        root = fuzz_tmpdir("fuzz-state");
        if (asprintf(&spool_dir_path, "%s/spool", root) < 0 ||
            asprintf(&upload_state, "%s/upload.state", root) < 0 ||
            asprintf(&history, "%s/cameras/" SERIAL ".json", root) < 0 ||
            asprintf(&record, "%s/bays/bay-1.json", root) < 0)
                abort();
        if (spool_open(spool_dir_path, &spool) < 0 || spool_prepare(spool, &segment) < 0)
                abort();
        state_path = spool_path(spool, &segment, "state");
        if (asprintf(&p, "%s/cameras", root) < 0 || mkdir(p, 0700) < 0)
                abort();
        free(p);
        if (asprintf(&p, "%s/bays", root) < 0 || mkdir(p, 0700) < 0)
                abort();
        free(p);
        config = config_new();
        if (!state_path || !config)
                abort();
        /* Quiet: each refusal is logged with the file's name, which would flood the fuzzer's output. */
        log_set_max_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_CRIT);
        return 0;
}

static bool states_equal(const SegmentState *a, const SegmentState *b) {
        return a->stage == b->stage && a->quarantined == b->quarantined && streq_ptr(a->reason, b->reason) &&
               a->size == b->size && memcmp(a->sha256, b->sha256, 32) == 0 &&
               memcmp(a->manifest_sha256, b->manifest_sha256, 32) == 0 &&
               streq(strempty(a->categories), strempty(b->categories)) && a->retain_until == b->retain_until &&
               a->legal_hold == b->legal_hold && a->evidentiary == b->evidentiary && a->trusted == b->trusted &&
               a->start_time == b->start_time;
}

static int count_segment(const SegmentId *id, const SegmentState *st, void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

static void spool_state(void) {
        SegmentState st = {}, again = {};
        unsigned n = 0;
        int r = spool_state_load(spool, &segment, &st);

        fuzz_check(r == 0 || r == -EBADMSG);
        fuzz_check(spool_foreach(spool, count_segment, &n) == 0);
        fuzz_check(n == (r == 0));
        if (r < 0)
                return;
        fuzz_check(st.stage >= 0 && st.stage < _SEGMENT_STAGE_MAX);
        /* Whatever is accepted survives being saved again, as dockd does at each step. */
        fuzz_check(spool_state_save(spool, &segment, &st) == 0);
        fuzz_check(spool_state_load(spool, &segment, &again) == 0);
        fuzz_check(states_equal(&st, &again));
        segment_state_done(&st);
        segment_state_done(&again);
}

static void s3_state(void) {
        RemoteBackend remote = { .section = "s3", .display = "S3" };
        BackendPut *p = calloc(1, sizeof *p);

        if (!p)
                abort();
        p->base = (RemotePut) { .remote = &remote, .key = (char *) KEY, .state_path = upload_state, .size = OBJECT_SIZE };
        p->part_size = PART_SIZE;
        p->n_parts = 3;
        p->parts = calloc(p->n_parts, sizeof *p->parts);
        if (!p->parts)
                abort();
        for (unsigned i = 0; i < p->n_parts; i++)
                p->parts[i] = (S3Part) {
                        .put = p, .number = i + 1, .offset = (uint64_t) i * PART_SIZE,
                        .length = MIN((uint64_t) PART_SIZE, OBJECT_SIZE - (uint64_t) i * PART_SIZE),
                };
        s3_put_state_load(p);
        fuzz_check(!(p->upload_id && p->stale_upload_id));
        fuzz_check(!p->upload_id || *p->upload_id);
        for (unsigned i = 0; i < p->n_parts; i++) {
                fuzz_check(strlen(p->parts[i].listed_etag) < sizeof p->parts[i].listed_etag);
                fuzz_check(!p->parts[i].listed || p->upload_id);
                fuzz_check(!p->parts[i].acked);
        }
        free(p->upload_id);
        free(p->stale_upload_id);
        free(p->parts);
        free(p);
}

static void tus_state(void) {
        RemoteBackend remote = { .section = "tus", .display = "tus" };
        RemotePut p = { .remote = &remote, .key = (char *) KEY, .state_path = upload_state, .size = OBJECT_SIZE };
        char *url = tus_state_read(&p);

        fuzz_check(!url || *url);
        free(url);
}

static void report_status(const char *text, size_t size) {
        ReportStatus st = {};
        unsigned line = 0, lines = 0;
        int r = report_status_parse(text, size, &st, &line);

        for (size_t i = 0; i < size; i++)
                lines += text[i] == '\n';
        fuzz_check(r == 0 || r == -EBADMSG);
        if (r < 0) {
                fuzz_check(line <= lines + 1);
                fuzz_check(!st.summary);
                return;
        }
        fuzz_check(strlen(st.id) == 36);
        fuzz_check(serial_is_valid(st.serial));
        fuzz_check(st.summary);
        fuzz_check(!strchr(st.summary, '\r') && !strchr(st.time, '\r'));
        report_status_done(&st);
}

static void camera_history(void) {
        CameraHistory h = {};
        FindingList findings = {};
        BatterySample s = { .time = 1764000000, .health_permille = 700, .cycles = 400, .full_mah = 2100, .design_mah = 3000 };
        struct json_object *j;
        int r = camera_history_load(root, SERIAL, &h);

        fuzz_check(r == 0 || r == -EBADMSG);
        if (r < 0)
                return;
        fuzz_check(h.n_battery <= CAMERA_HISTORY_MAX);
        /* What a docking does with it (bay-health.c). */
        health_check_undocked(config, h.last_docked, 1764000000, &findings);
        camera_history_add_battery(&h, &s);
        health_check_battery_trend(config, &h, &findings);
        j = camera_history_battery_json(&h);
        fuzz_check(j);
        json_object_put(j);
        findings_clear(&findings);
}

static void docking_record(void) {
        DockingRecord r = { .docked_at = -1 }, again = { .docked_at = -1 };
        int k = docking_record_load(root, 1, &r);

        fuzz_check(k == 0 || k == -EBADMSG);
        if (k < 0)
                return;
        fuzz_check(serial_is_valid(r.serial));
        fuzz_check(docking_record_save(root, 1, &r) == 0);
        fuzz_check(docking_record_load(root, 1, &again) == 0);
        fuzz_check(streq(r.serial, again.serial) && r.docked_at == again.docked_at &&
                   streq(r.report_id, again.report_id));
        for (size_t i = 0; r.reported && r.reported[i]; i++)
                fuzz_check(again.reported && streq_ptr(r.reported[i], again.reported[i]));
        docking_record_done(&r);
        docking_record_done(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        switch (data[0] % _KIND_MAX) {
        case SPOOL_STATE:
                fuzz_write_file(state_path, data + 1, size - 1);
                spool_state();
                break;
        case S3_STATE:
                fuzz_write_file(upload_state, data + 1, size - 1);
                s3_state();
                break;
        case TUS_STATE:
                fuzz_write_file(upload_state, data + 1, size - 1);
                tus_state();
                break;
        case REPORT_STATUS:
                report_status((const char *) data + 1, size - 1);
                break;
        case CAMERA_HISTORY:
                fuzz_write_file(history, data + 1, size - 1);
                camera_history();
                break;
        case DOCKING_RECORD:
                fuzz_write_file(record, data + 1, size - 1);
                docking_record();
                break;
        }
        return 0;
}
