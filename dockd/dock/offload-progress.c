/* SPDX-License-Identifier: Apache-2.0 */
/* offload-progress.c: what the bay shows of a docking (offload.h): the video
 * bytes this docking pulls, as the camera listed them, and how far it is. */
#include "manifest.h"
#include "offload-private.h"
#include "offload.h"

/* Sizes a camera has not told (UINT64_MAX) count as nothing: never bytes
 * nobody will pull. */
uint64_t offload_listed_video_size(const CameraSegment *seg) {
        uint64_t size = seg->files[CAMERA_FILE_VIDEO].size;

        return seg->present[CAMERA_FILE_VIDEO] && size != UINT64_MAX ? size : 0;
}

/* For progress only: the spool has a segment of this name pulled (an earlier
 * docking). Content under a reused name is found out later, when it is pulled. */
static bool already_pulled(Offload *o, size_t i) {
        SegmentId id = { .serial = o->serial, .recording = o->inv->segments[i].recording_id,
                         .index = o->inv->segments[i].index };
        SegmentState st;
        bool pulled;

        if (spool_state_load(o->ctx->spool, &id, &st) < 0)
                return false;
        pulled = st.stage >= SEGMENT_PULLED;
        segment_state_done(&st);
        return pulled;
}

void offload_progress_init(Offload *o) {
        for (size_t i = 0; i < o->inv->n_segments; i++)
                o->video_size[i] = already_pulled(o, i) ? 0 : offload_listed_video_size(&o->inv->segments[i]);
}

static uint64_t video_bytes(Offload *o, size_t from, size_t to) {
        uint64_t sum = 0;

        for (size_t i = from; o->video_size && i < to; i++)
                sum += o->video_size[i];
        return sum;
}

void offload_get_progress(Offload *o, OffloadProgress *ret) {
        size_t n = o->inv ? o->inv->n_segments : 0;
        /* The sweep reading kept files again comes after every pull of a new one. */
        size_t cur = o->rereads ? n : MIN(o->cur, n);
        /* The current segment's bytes count until it is done (its offset stays
         * until then, also after the .part is closed): never backwards. */
        uint64_t current = o->phase == PHASE_PULL && cur < n ? MIN(o->offset, video_bytes(o, cur, cur + 1)) : 0;

        *ret = (OffloadProgress) {
                .bytes_done = o->inv ? video_bytes(o, 0, o->phase >= PHASE_DELETE ? n : cur) + current : 0,
                .bytes_total = o->inv ? video_bytes(o, 0, n) : 0,
                .segment = o->phase == PHASE_PULL && o->fd >= 0 ? o->segname : NULL,
                .recording = o->phase == PHASE_PULL && cur < n ? o->inv->segments[cur].recording_id : NULL,
                .index = o->phase == PHASE_PULL && cur < n ? o->inv->segments[cur].index : 0,
                .offset = o->offset,
                .size = o->size,
                .done = (unsigned) cur,
                .total = o->inv ? (unsigned) o->inv->n_segments : 0,
                .waiting_for_storage = o->phase == PHASE_DELETE,
                .spool_full = o->spool_wait,
        };
}

const OffloadSummary *offload_summary(Offload *o) {
        return &o->summary;
}
