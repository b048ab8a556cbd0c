/* SPDX-License-Identifier: Apache-2.0 */
/* offload.h: taking a docked camera's segments into the dock (one docking of one
 * camera): inventory, pull with resume, verification, spool, custody, hand-off to
 * central storage, and deletion from the camera once central storage confirmed
 * and the whole recording verified. Restartable at any point: everything it
 * decides is derived from the spool's durable state and the camera's inventory. */
#pragma once

#include "camera.h"
#include "spool.h"

typedef struct Manager Manager;
typedef struct Bay Bay;
typedef struct Offload Offload;

typedef struct OffloadSummary {
        unsigned segments;          /* complete segments seen on the camera */
        unsigned pulled;            /* pulled in this docking */
        unsigned verified;
        unsigned quarantined;
        unsigned deleted;
        unsigned delete_refused;
        unsigned held_recordings;   /* recordings kept on the camera (integrity) */
        unsigned not_yet_complete;  /* segments the camera is still writing */
        uint64_t bytes_pulled;      /* object bytes received in this docking */
        uint64_t bytes_resumed;     /* already in the spool from an earlier attempt */
        usec_t hash_usec;           /* time spent hashing pulled bytes (benchmarks) */
        uint64_t bytes_deleted;     /* segment bytes deleted from the camera */
        uint64_t storage_capacity;
        uint64_t storage_free;
} OffloadSummary;

/* error: 0 when every segment is in central storage and every deletable one was
 * deleted; < 0 when the camera failed (the bay recovers and starts a new offload). */
typedef void (*offload_done_t)(Offload *o, int error, const OffloadSummary *summary, void *userdata);
/* Progress: bytes of the current pull. */
typedef struct OffloadProgress {
        const char *segment;        /* "rec/000003" or NULL */
        uint64_t offset, size;
        unsigned done, total;       /* segments */
        bool waiting_for_storage;   /* pulled, waiting for confirmations */
        bool spool_full;
} OffloadProgress;

int offload_start(Manager *m, Bay *bay, Camera *camera, offload_done_t cb, void *userdata, Offload **ret);
Offload *offload_free(Offload *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Offload *, offload_free);

/* Central storage confirmed a segment of this camera: delete it if allowed. */
void offload_segment_confirmed(Offload *o, const SegmentId *id);
/* Spool space was freed: paused pulls may go on. */
void offload_spool_freed(Offload *o);
void offload_get_progress(Offload *o, OffloadProgress *ret);
const OffloadSummary *offload_summary(Offload *o);
