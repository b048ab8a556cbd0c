/* SPDX-License-Identifier: Apache-2.0 */
/* offload-delete.c: which object on the camera is which segment, and deleting
 * the confirmed ones (offload-private.h). A name is not an identity: a camera
 * may reuse a recording id (a reset clock, buggy or hostile firmware). Whatever
 * the spool knows under a name is matched against the camera's .man by SHA-256
 * before anything is decided about it; other content under a known name is a new
 * segment (SegmentId.variant), and nothing is deleted unless its .man hash and
 * video size are those central storage confirmed. Before the first DeleteObject
 * of a segment its state becomes "deleting", so that a crash before the custody
 * record is finished at the next docking when the camera shows the deletion was
 * done. */
#include <inttypes.h>
#include <openssl/sha.h>

#include "failpoint.h"
#include "health.h"
#include "manifest.h"
#include "message-ids.h"
#include "offload-private.h"
#include "ptp.h"

/* ---- deletion ---- */

/* The custody record and the state of a segment whose files are gone from the
 * camera by our DeleteObjects. */
static int record_deleted(Offload *o, const SegmentId *id, bool maybe_recorded) {
        char name[96];
        SegmentState st;
        int r;

        segment_name(id, name, sizeof name);
        /* After a crash between the custody record and the state: once only. */
        r = maybe_recorded ? custody_log_find(o->ctx->custody, CUSTODY_DELETED, o->serial, name) : 0;
        if (r == 0)
                r = custody_log_record(o->ctx->custody, CUSTODY_DELETED, o->bay, o->serial, name, NULL);
        if (r < 0)
                return r;
        failpoint("delete-after-custody");
        r = spool_state_load(o->ctx->spool, id, &st);
        if (r >= 0) {
                st.stage = SEGMENT_DELETED;
                r = spool_state_save(o->ctx->spool, id, &st);
                segment_state_done(&st);
        }
        if (r < 0)
                return r;
        o->summary.deleted++;
        log_full_errno_ctx(LOG_INFO, 0,
                           (&(LogContext) { .bay = o->bay, .serial = o->serial, .segment = name,
                                            .message_id = DOCKD_MESSAGE_SEGMENT_OFFLOADED }),
                           "Segment is safe in central storage and was deleted from the camera.");
        if (o->ctx->config->spool_keep_confirmed == 0) {
                int64_t freed = spool_remove_data(o->ctx->spool, id);
                if (freed > 0)
                        spool_has_room(o->ctx->spool, 0);
        }
        return 0;
}

static void segment_deleted(Offload *o) {
        SegmentId id = seg_id(o, o->del_seg);
        int r;

        r = record_deleted(o, &id, false);
        if (r < 0)
                return offload_fail(o, r, "recording a deletion");
        o->del_seg++;
        o->del_kind = 0;
        offload_delete_next(o);
}

static int inventory_cmp(const void *key, const void *elem) {
        const SegmentId *id = key;
        const CameraSegment *s = elem;
        int r = strcmp(id->recording, s->recording_id);

        return r != 0 ? r : id->index < s->index ? -1 : id->index > s->index;
}

/* A deletion a crash interrupted (state "deleting") whose files the camera no
 * longer has: the camera shows it was done; finish its record. */
static int finish_interrupted_deletion(const SegmentId *id, const SegmentState *st, void *userdata) {
        Offload *o = userdata;

        if (st->stage != SEGMENT_DELETING ||
            bsearch(id, o->inv->segments, o->inv->n_segments, sizeof *o->inv->segments, inventory_cmp))
                return 0;
        return record_deleted(o, id, true);
}

int offload_finish_interrupted_deletions(Offload *o) {
        return spool_foreach_camera(o->ctx->spool, o->serial, finish_interrupted_deletion, o);
}

static void on_deleted(Camera *c, int error, uint16_t rc, void *userdata) {
        Offload *o = userdata;
        CameraSegment *s = &o->inv->segments[o->del_seg];

        o->busy = false;
        if (error == -EREMOTEIO && (rc == PTP_RC_ACCESS_DENIED || rc == PTP_RC_OBJECT_WRITE_PROTECTED ||
                                    rc == PTP_RC_STORE_READ_ONLY)) {
                SegmentId id = seg_id(o, o->del_seg);
                char name[96];

                segment_name(&id, name, sizeof name);
                offload_log(o, LOG_WARNING, 0, name, "Camera refused to delete the %s (0x%04x); it stays on the camera.",
                            camera_file_kind_extension(o->del_kind), rc);
                (void) custody_log_record(o->ctx->custody, CUSTODY_DELETE_REFUSED, o->bay, o->serial, name,
                                       (const LogField[]) { { "file", camera_file_kind_extension(o->del_kind) }, {} });
                o->summary.delete_refused++;
                o->refused[o->del_seg] = true;   /* not again in this docking */
                if (o->cb.delete_refused)
                        o->cb.delete_refused(name, rc, o->userdata);
                o->del_seg++;
                o->del_kind = 0;
                return offload_delete_next(o);
        }
        if (error == -EREMOTEIO && rc == PTP_RC_INVALID_OBJECT_HANDLE)
                error = 0;   /* already gone */
        if (error < 0)
                return offload_fail(o, error, "deleting a segment");
        failpoint("delete-object");
        if (s->files[o->del_kind].size != UINT64_MAX)
                o->summary.bytes_deleted += s->files[o->del_kind].size;
        s->present[o->del_kind] = false;
        o->del_kind++;
        offload_delete_next(o);
}

static bool recording_verified(Offload *o, size_t from, size_t to) {
        for (size_t i = from; i < to; i++) {
                SegmentId id = seg_id(o, i);
                SegmentState st;
                bool ok;

                if (spool_state_load(o->ctx->spool, &id, &st) < 0)
                        return false;
                ok = !st.quarantined && st.stage >= SEGMENT_PULLED && !st.chain_owed;
                segment_state_done(&st);
                if (!ok)
                        return false;
        }
        return true;
}

/* The inventory is sorted by recording, so a recording's segments are one run
 * [rec_from, rec_to). Asked for each segment of a recording while deleting, the
 * verdict is kept for the run: each state is read once per pass, not once per
 * segment of its recording (O(n), not O(n^2), for a camera of one long
 * recording). Only the pull phase changes what it depends on, and
 * offload_step() forgets it when a pass enters the delete phase. */
bool offload_recording_deletable(Offload *o, size_t i) {
        const char *rec = o->inv->segments[i].recording_id;

        if (o->rec_known && i >= o->rec_from && i < o->rec_to)
                return o->rec_deletable;
        o->rec_from = o->rec_to = i;
        while (o->rec_from > 0 && streq(o->inv->segments[o->rec_from - 1].recording_id, rec))
                o->rec_from--;
        while (o->rec_to < o->inv->n_segments && streq(o->inv->segments[o->rec_to].recording_id, rec))
                o->rec_to++;
        o->rec_deletable = recording_verified(o, o->rec_from, o->rec_to);
        o->rec_known = true;
        return o->rec_deletable;
}

/* May segment i be deleted from the camera now? Central storage confirmed it,
 * it verified, so did its whole recording, and the camera's objects are the
 * ones confirmed: the .man's SHA-256 (matched in this docking) and the video's
 * size. Returns 1 and (mark) marks the state "deleting" (durably, before any
 * DeleteObject), 0 if not, or < 0. */
static int deletable_now(Offload *o, size_t i, bool mark) {
        const CameraSegment *s = &o->inv->segments[i];
        SegmentId id = seg_id(o, i);
        SegmentState st;
        bool ok;
        int r;

        if (o->refused[i] || !o->match[i].proven)
                return 0;
        if (o->generic && !o->generic->delete_after_confirm)
                return 0;   /* its section keeps what it holds on the camera */
        if (spool_state_load(o->ctx->spool, &id, &st) < 0)
                return 0;
        ok = (st.stage == SEGMENT_CONFIRMED || st.stage == SEGMENT_DELETING) && !st.quarantined &&
             (!s->present[CAMERA_FILE_VIDEO] || s->files[CAMERA_FILE_VIDEO].size == st.size) &&
             offload_recording_deletable(o, i);
        if (ok && o->generic) {
                o->confirmed_size = st.size;
                memcpy(o->confirmed_sha, st.sha256, 32);
        }
        r = 0;
        if (ok && mark && st.stage == SEGMENT_CONFIRMED) {
                st.stage = SEGMENT_DELETING;
                r = spool_state_save(o->ctx->spool, &id, &st);
        }
        segment_state_done(&st);
        return r < 0 ? r : ok;
}

/* Delete, in order, every confirmed segment of every fully verified recording:
 * .mp4, then .man, then .p7s (protocol §14). */
void offload_delete_next(Offload *o) {
        int r;

        if (o->failed)
                return;
        for (; o->del_seg < o->inv->n_segments; o->del_seg++, o->del_kind = 0) {
                CameraSegment *s = &o->inv->segments[o->del_seg];

                if (o->del_kind == 0) {
                        /* A signing camera's segment is judged and marked at once; a
                         * generic camera's is marked only once the camera, asked again,
                         * still shows the object that was sealed. */
                        r = deletable_now(o, o->del_seg, !o->generic);
                        if (r > 0 && o->generic && !o->match[o->del_seg].rechecked)
                                return offload_recheck_object(o);   /* offload_delete_next() again */
                        if (o->generic) {
                                o->match[o->del_seg].rechecked = false;   /* good for this one attempt only */
                                if (r > 0)
                                        r = deletable_now(o, o->del_seg, true);
                        }
                        if (r < 0)
                                return offload_fail(o, r, "saving segment state");
                        if (r == 0)
                                continue;
                }
                for (; o->del_kind < _CAMERA_FILE_KIND_MAX; o->del_kind++)
                        if (s->present[o->del_kind])
                                break;
                if (o->del_kind == _CAMERA_FILE_KIND_MAX) {
                        segment_deleted(o);
                        return;
                }
                /* Just before each DeleteObject: a hold acknowledged meanwhile
                 * stops every deletion not yet sent. */
                if (o->ctx->recording_held &&
                    o->ctx->recording_held(o->serial, s->recording_id, o->ctx->recording_held_userdata)) {
                        offload_log(o, LOG_INFO, 0, NULL, "Recording %s is held by a preservation request: "
                                    "kept on the camera.", s->recording_id);
                        continue;
                }
                failpoint("delete-before");
                o->busy = true;
                r = camera_delete_object(o->camera, s->files[o->del_kind].handle, on_deleted, o);
                if (r < 0)
                        offload_fail(o, r, "deleting a segment");
                return;
        }
        if (o->rescan) {
                /* Confirmations arrive in any order: look again from the start. */
                o->rescan = false;
                o->del_seg = 0;
                o->del_kind = 0;
                offload_delete_next(o);
                return;
        }
        offload_step(o);
}

/* ---- matching names to content ---- */

/* The camera's .man under a name the spool knows hashes to sha: the segment the
 * spool holds, or other content under a reused name (a new segment). */
static int match_content(Offload *o, const uint8_t sha[32]) {
        SegmentMatch *m = &o->match[o->cur];
        SegmentId id = seg_id(o, o->cur);
        char name[96], summary[256];
        SegmentState st;
        bool same;
        int r;

        m->checked = true;
        r = spool_state_load(o->ctx->spool, &id, &st);
        if (r < 0)
                return r;
        same = memcmp(st.manifest_sha256, sha, 32) == 0;
        segment_state_done(&st);
        if (same) {
                m->proven = true;
                return 0;
        }
        segment_variant(sha, m->variant);
        id = seg_id(o, o->cur);
        r = spool_state_load(o->ctx->spool, &id, &st);
        if (r >= 0) {
                /* Seen in an earlier docking. */
                m->proven = memcmp(st.manifest_sha256, sha, 32) == 0;
                segment_state_done(&st);
                return 0;
        }
        if (r != -ENOENT)
                return r;
        segment_name(&id, name, sizeof name);
        offload_log(o, LOG_WARNING, 0, name, "The camera reused the name of a segment this dock took for other "
                    "content; it is a new segment, kept as %s.", name);
        snprintf(summary, sizeof summary, "The camera holds other content under %s/%06" PRIu32 " than the "
                 "segment this dock took under that name (a reused recording id); kept as %s.",
                 id.recording, id.index, name);
        if (o->cb.finding)
                o->cb.finding("recording-id-reused", SEVERITY_WARNING, name, summary, o->userdata);
        return 0;
}

static void on_match_manifest(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Offload *o = userdata;
        uint8_t sha[32];
        int r;

        o->busy = false;
        if (error == -EMSGSIZE) {
                /* Not what the spool holds (that was at most this big): nothing to decide. */
                o->match[o->cur].checked = true;
                return offload_step(o);
        }
        if (error < 0)
                return offload_fail(o, error, "reading a manifest");
        SHA256(data, size, sha);
        r = match_content(o, sha);
        if (r < 0)
                return offload_fail(o, r, "matching a segment");
        offload_step(o);
}

/* Before anything is decided about the segment at o->cur: if the spool knows its
 * name from an earlier docking, read the camera's .man to learn whether it is
 * that content. 1: decided at once; 0: reading; < 0: failed. */
int offload_match_segment(Offload *o) {
        const CameraSegment *s = cur_seg(o);
        SegmentMatch *m = &o->match[o->cur];
        SegmentId id = seg_id(o, o->cur);
        SegmentState st;
        bool known, deleting;
        int r;

        r = spool_state_load(o->ctx->spool, &id, &st);
        if (r == -ENOENT || r == -EBADMSG) {
                /* No state, or one dockd did not write (logged by the spool): the
                 * segment is pulled again like one never seen; a name proves nothing. */
                m->checked = true;
                return 1;
        }
        if (r < 0)
                return r;
        known = st.stage >= SEGMENT_PULLED;
        deleting = st.stage == SEGMENT_DELETING;
        segment_state_done(&st);
        if (!known) {
                m->checked = true;   /* a pull to resume: keep_small() compares what it reads */
                return 1;
        }
        if (o->generic && s->present[CAMERA_FILE_VIDEO]) {
                /* Its id (path, size, date) is the camera's word: only the bytes tell.
                 * New files first, so that reading kept ones again never keeps a
                 * short docking from what was never offloaded at all. */
                if (!o->rereads) {
                        o->reread_owed = true;
                        return 1;   /* skipped in this sweep, not checked */
                }
                offload_match_sealed(o);   /* offload_step() follows, or it failed */
                return 0;
        }
        if (!s->present[CAMERA_FILE_MANIFEST]) {
                /* Only a signature can be left of a deletion that was under way; any
                 * other name without its manifest proves nothing and is left alone. */
                m->checked = true;
                m->proven = deleting && !s->present[CAMERA_FILE_VIDEO];
                return 1;
        }
        o->busy = true;
        r = camera_read_object(o->camera, s->files[CAMERA_FILE_MANIFEST].handle, MANIFEST_MAX_SIZE,
                               on_match_manifest, o);
        if (r < 0)
                o->busy = false;
        return r < 0 ? r : 0;
}
