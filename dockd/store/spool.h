/* SPDX-License-Identifier: Apache-2.0 */
/* spool.h: the local, durable home of segments between the camera and central
 * storage: <spool>/<serial>/<recording>/<index:06>.{mp4,man,p7s,state}, the video
 * growing as <index>.mp4.part while it is pulled. The .state file (atomically
 * replaced) is the segment's durable progress; it outlives the data as a
 * tombstone, so a re-docked camera's leftovers are recognised. A name the camera
 * reused for other content (a recording id used again) is another segment:
 * <index:06>~<first 16 hex digits of its .man's SHA-256>.<ext>. */
#pragma once

#include "macro.h"

typedef struct Spool Spool;

/* "~" and 16 hex digits, and the NUL. */
#define SEGMENT_VARIANT_MAX 18

typedef struct SegmentId {
        const char *serial;
        const char *recording;
        uint32_t index;
        const char *variant;       /* NULL; or "~<16 hex>": other content under a reused name */
} SegmentId;

/* "~" + the first 16 hex digits of manifest_sha256. */
void segment_variant(const uint8_t manifest_sha256[32], char ret[SEGMENT_VARIANT_MAX]);
/* "<recording>/<index:06><variant>" into buf (custody's and the logs' name). */
const char *segment_name(const SegmentId *id, char *buf, size_t size);

typedef enum SegmentStage {
        SEGMENT_PULLING,     /* manifest and signature kept; video being pulled */
        SEGMENT_PULLED,      /* video complete and durable, verdict given; upload pending */
        SEGMENT_CONFIRMED,   /* central storage holds the three objects */
        SEGMENT_DELETING,    /* DeleteObject may have been sent for its files */
        SEGMENT_DELETED,     /* deleted from the camera */
        _SEGMENT_STAGE_MAX,
        _SEGMENT_STAGE_INVALID = -EINVAL,
} SegmentStage;

typedef struct SegmentState {
        SegmentStage stage;
        bool quarantined;
        char *reason;              /* why it is quarantined */
        uint64_t size;             /* of the video, as pulled */
        uint8_t sha256[32];        /* of the video, as pulled */
        uint8_t manifest_sha256[32];
        char *categories;          /* from the manifest, "a,b" */
        uint64_t retain_until;     /* seconds since the epoch; 0: none */
        bool legal_hold;
        bool evidentiary;
        bool trusted;              /* manifest valid and signed: it heads the recording's chain */
        uint64_t start_time;       /* of the recording segment, seconds since the epoch */
        /* The link to the segment before is owed a check: no spool here knew that
         * segment, and central storage could not be asked yet. chain_prev is the
         * manifest's prev, which central storage's copy must hash to. Written as
         * "chain_owed=<hex>" only while owed (older states lack the key). */
        bool chain_owed;
        uint8_t chain_prev[32];
        /* While owed: when central storage first answered that it does not hold
         * that segment (seconds since the epoch; 0: it never did). Not there yet
         * is not a gap until [dock] chain_gap_after has passed since. Written as
         * "chain_missing_since=<n>" only when not 0. */
        uint64_t chain_missing_since;
} SegmentState;

void segment_state_done(SegmentState *s);
const char *segment_stage_to_string(SegmentStage s);

int spool_open(const char *dir, Spool **ret);
Spool *spool_free(Spool *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Spool *, spool_free);

/* <spool>/<serial>/<recording>/<index:06>.<ext>; caller frees. */
char *spool_path(Spool *s, const SegmentId *id, const char *ext);
/* Create the segment's directory (and parents) durably. */
int spool_prepare(Spool *s, const SegmentId *id);

/* -ENOENT when the segment has no state yet. */
int spool_state_load(Spool *s, const SegmentId *id, SegmentState *ret);
int spool_state_save(Spool *s, const SegmentId *id, const SegmentState *st);

/* Write a small file (manifest, signature) atomically and durably. */
int spool_write_file(Spool *s, const SegmentId *id, const char *ext, const void *data, size_t size);

/* Remove the segment's data files (not its state); returns bytes freed. Freeing
 * bytes calls the room handler: paused pulls (a full spool, or a camera at its
 * share) look again. */
int64_t spool_remove_data(Spool *s, const SegmentId *id);

/* Bytes of segment data held (scanned at open, then kept up to date). */
uint64_t spool_usage(Spool *s);
void spool_account(Spool *s, int64_t delta);
/* Free bytes on the spool's file system. */
int spool_fs_free(Spool *s, uint64_t *ret);

/* Room for pulls ([spool] quota and min_free; by default no limit). The spool
 * is full when holding need more bytes would pass the quota or leave less than
 * min_free on its file system: spool_has_room() then says no and logs it once
 * (SPOOL_FULL); once it says yes again it logs that and calls the room handler.
 * The handler must not pull at once (it runs inside whoever asked): it only
 * schedules the paused pulls to look again. */
typedef void (*spool_room_t)(Spool *s, void *userdata);
void spool_set_limits(Spool *s, uint64_t quota, uint64_t min_free);
void spool_set_room_handler(Spool *s, spool_room_t cb, void *userdata);
bool spool_has_room(Spool *s, uint64_t need);
/* Bytes of segment data held for one camera (a walk of its directory). */
uint64_t spool_camera_usage(Spool *s, const char *serial);
bool spool_is_full(Spool *s);

/* The chain head for segment index of a recording: the trusted segment at
 * index - 1 whose manifest hash is prev (a reused recording id has more than one
 * chain), else the trusted segment with the highest index below it. -ENOENT if
 * there is none. */
struct ChainHead;
int spool_chain_head(Spool *s, const char *serial, const char *recording, uint32_t index, const uint8_t prev[32],
                     struct ChainHead *ret);

/* Every segment with a state file, for restart; serial: only that camera's (or NULL). */
typedef int (*spool_segment_cb)(const SegmentId *id, const SegmentState *st, void *userdata);
int spool_foreach(Spool *s, spool_segment_cb cb, void *userdata);
int spool_foreach_camera(Spool *s, const char *serial, spool_segment_cb cb, void *userdata);

const char *spool_dir(Spool *s);
