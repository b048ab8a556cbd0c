/* SPDX-License-Identifier: Apache-2.0 */
/* offload-chain.c: the hash chain's link to a segment no spool here knows
 * (offload-private.h). Central storage's answer about it, and the checks it
 * could not answer yet: owed (SegmentState.chain_owed), not passed. Why, and
 * what an owed check holds back: offload.c check_predecessor(), and
 * docs/design.md "An owed chain check". */
#include <inttypes.h>

#include "backoff.h"
#include "manifest.h"
#include "message-ids.h"
#include "offload-private.h"

/* What central storage's answer about segment index - 1 (central_find_manifest())
 * means for the segment after it: NULL it links, else why it is quarantined. */
const char *offload_chain_verdict(int result, uint32_t index, char *buf, size_t size) {
        if (result > 0)
                return NULL;
        if (result == 0)
                snprintf(buf, size, "hash chain: prev does not match segment %06" PRIu32 " in central storage",
                         index - 1);
        else
                snprintf(buf, size, "hash chain: a gap: segment %06" PRIu32 " is in no spool of this dock and not "
                         "in central storage", index - 1);
        return buf;
}

/* A segment is quarantined: count it, tell the bay, and raise the alert. */
void offload_report_quarantined(Offload *o, const char *segname, const char *recording, const char *reason) {
        o->summary.quarantined++;
        if (o->cb.quarantined)
                o->cb.quarantined(segname, reason, o->userdata);
        log_full_errno_ctx(LOG_CRIT, 0,
                           (&(LogContext) {
                                   .bay = o->bay, .serial = o->serial, .segment = segname,
                                   .message_id = DOCKD_MESSAGE_INTEGRITY_ALERT,
                                   .fields = (const LogField[]) { { "DOCKD_REASON", reason }, {} },
                           }),
                           "Integrity alert: segment quarantined: %s. Nothing of recording %s is deleted "
                           "from the camera.", reason, recording);
}

/* Central storage answered an owed check of segment o->cur: custody "verified"
 * or "quarantined", then the state (no longer owed), then the upload. */
static int settle_owed(Offload *o, int result) {
        SegmentId id = seg_id(o, o->cur);
        char name[96], buf[160];
        const char *why = offload_chain_verdict(result, id.index, buf, sizeof buf);
        SegmentState st;
        int r;

        segment_name(&id, name, sizeof name);
        r = custody_log_record(o->ctx->custody, why ? CUSTODY_QUARANTINED : CUSTODY_VERIFIED, o->bay, o->serial,
                               name, why ? (const LogField[]) { { "reason", why }, {} } : NULL);
        if (r < 0)
                return r;
        r = spool_state_load(o->ctx->spool, &id, &st);
        if (r < 0)
                return r;
        st.chain_owed = false;
        if (why) {
                st.quarantined = true;
                free(st.reason);
                st.reason = strdup(why);
        }
        r = (why && !st.reason) ? -ENOMEM : spool_state_save(o->ctx->spool, &id, &st);
        if (r >= 0)
                r = central_enqueue_segment(o->ctx->central, &id, &st);
        segment_state_done(&st);
        if (r < 0)
                return r;
        if (why)
                offload_report_quarantined(o, name, id.recording, why);
        else {
                o->summary.verified++;
                offload_log(o, LOG_INFO, 0, name, "Continues segment %06" PRIu32 ", which central storage holds: "
                            "verified.", id.index - 1);
        }
        return 0;
}

/* Central storage answered an owed check of segment o->cur "not there": 1 when
 * that is not a gap yet ([dock] chain_gap_after since the first such answer,
 * which this records), 0 when it is. A clock set back starts the wait again:
 * the finding comes late, nothing leaves the camera early. */
static int still_missing(Offload *o) {
        SegmentId id = seg_id(o, o->cur);
        usec_t window = o->ctx->config->chain_gap_after;
        uint64_t now = (uint64_t) time(NULL);
        SegmentState st;
        int r;

        if (window == 0)
                return 0;
        r = spool_state_load(o->ctx->spool, &id, &st);
        if (r < 0)
                return r;
        if (st.chain_missing_since == 0 || st.chain_missing_since > now) {
                st.chain_missing_since = now;
                r = spool_state_save(o->ctx->spool, &id, &st);
                if (r >= 0)
                        r = 1;
        } else
                r = now - st.chain_missing_since < window / USEC_PER_SEC;
        segment_state_done(&st);
        return r;
}

static void on_owed(int result, void *userdata) {
        Offload *o = userdata;
        int r;

        o->busy = false;
        o->search = NULL;
        if (result < 0 && result != -ENOENT) {
                o->owed_unanswered = true;
                log_debug("Owed chain check of segment %zu still unanswered: %s.", o->cur, strerror(-result));
                return offload_step(o);
        }
        if (result == -ENOENT) {
                r = still_missing(o);
                if (r < 0)
                        return offload_fail(o, r, "recording a chain check");
                if (r > 0) {
                        /* Asked again with the backoff, which goes on growing. */
                        o->owed_unanswered = true;
                        log_debug("Segment before segment %zu still not in central storage.", o->cur);
                        return offload_step(o);
                }
        }
        o->owed_failures = 0;
        r = settle_owed(o, result);
        if (r < 0)
                return offload_fail(o, r, "recording a chain check");
        offload_step(o);
}

/* Ask central storage again about the segment before o->cur, whose state st owes that check. */
void offload_check_owed(Offload *o, const SegmentState *st) {
        const CameraSegment *s = cur_seg(o);
        int r;

        o->match[o->cur].owed_asked = true;
        o->busy = true;
        r = central_find_manifest(o->ctx->central, o->serial, s->recording_id, s->index - 1, st->chain_prev,
                                  on_owed, o, &o->search);
        if (r < 0) {
                o->search = NULL;
                on_owed(r == -ENOENT ? -EIO : r, o);
        }
}

static int on_owed_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Offload *o = userdata;

        o->owed_again = true;
        offload_step(o);
        return 0;
}

/* A pass ended with an owed check unanswered: another pass after the upload backoff. */
int offload_owed_retry_later(Offload *o) {
        usec_t delay = backoff_delay(o->ctx->config->storage_retry_initial, o->ctx->config->storage_retry_max,
                                     ++o->owed_failures);
        int r;

        o->owed_unanswered = false;
        offload_log(o, o->owed_failures == 1 ? LOG_NOTICE : LOG_DEBUG, 0, NULL, "Central storage cannot check the "
                    "chain of every segment yet; they stay on the camera, asking again in %.1f s.",
                    (double) delay / USEC_PER_SEC);
        if (o->owed_timer) {
                r = sd_event_source_set_time_relative(o->owed_timer, delay);
                if (r >= 0)
                        r = sd_event_source_set_enabled(o->owed_timer, SD_EVENT_ONESHOT);
                return r;
        }
        return sd_event_add_time_relative(o->ctx->event, &o->owed_timer, CLOCK_MONOTONIC, delay, 0, on_owed_timer, o);
}
