/* SPDX-License-Identifier: Apache-2.0 */
/* partial-sweep.c: see partial-sweep.h. The age is the .part file's last write:
 * a pull that goes on keeps it young. */
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "partial-sweep.h"

typedef struct Sweep {
        const DockContext *ctx;
        usec_t max_age;
        partial_sweep_docked_t docked;
        void *userdata;
} Sweep;

static void report_abandoned(const DockContext *ctx, const char *serial, const char *segment, uint64_t bytes) {
        struct json_object *m = json_object_new_object();
        FindingList findings = {};
        ReportContext report = {
                .dock = ctx->config->dock_name,
                .serial = serial,
                .docked_at = time(NULL),
                .findings = &findings,
        };
        char id[37];
        int r;

        json_object_object_add(m, "segment", json_object_new_string(segment));
        json_object_object_add(m, "bytes", json_object_new_int64((int64_t) bytes));
        findings_add(&findings, "abandoned-pull", SEVERITY_WARNING, "download", m,
                     "Segment %s was being pulled when the camera left and did not come back; the %" PRIu64
                     " bytes taken were removed from the spool. It is still on the camera.", segment, bytes);
        r = ctx->reports ? report_outbox_file(ctx->reports, &report, id) : 0;
        if (r < 0)
                log_warning_errno(r, "Cannot file the report of an abandoned pull: %m");
        findings_clear(&findings);
}

static int sweep_one(const SegmentId *id, const SegmentState *st, void *userdata) {
        Sweep *s = userdata;
        _cleanup_free_ char *part = NULL;
        char name[128], bytes[32];
        struct timespec now;
        struct stat sb;
        int r;

        if (st->stage != SEGMENT_PULLING)
                return 0;
        part = spool_path(s->ctx->spool, id, "mp4.part");
        if (!part)
                return -ENOMEM;
        if (stat(part, &sb) < 0)
                return 0;
        clock_gettime(CLOCK_REALTIME, &now);
        if ((usec_t) MAX(now.tv_sec - sb.st_mtim.tv_sec, 0) * USEC_PER_SEC < s->max_age || s->docked(id->serial, s->userdata))
                return 0;
        segment_name(id, name, sizeof name);
        snprintf(bytes, sizeof bytes, "%" PRIu64, (uint64_t) sb.st_size);
        r = custody_log_record(s->ctx->custody, CUSTODY_PULL_ABANDONED, NULL, id->serial, name,
                               (const LogField[]) { { "bytes", bytes }, {} });
        if (r < 0)
                return r;
        (void) spool_remove_data(s->ctx->spool, id);
        log_full_errno_ctx(LOG_NOTICE, 0, (&(LogContext) { .serial = id->serial, .segment = name }),
                           "Partial pull abandoned: the camera did not come back; %s bytes removed from the spool.",
                           bytes);
        report_abandoned(s->ctx, id->serial, name, (uint64_t) sb.st_size);
        return 0;
}

int partial_sweep_run(const DockContext *ctx, usec_t max_age, partial_sweep_docked_t docked, void *userdata) {
        Sweep s = { .ctx = ctx, .max_age = max_age, .docked = docked, .userdata = userdata };

        return spool_foreach(ctx->spool, sweep_one, &s);
}
