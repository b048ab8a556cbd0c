/* SPDX-License-Identifier: Apache-2.0 */
/* offload.h: taking a docked camera's segments into the dock (one docking of one
 * camera): inventory, pull with resume, verification, spool, custody, hand-off to
 * central storage, and deletion from the camera once central storage confirmed
 * and the whole recording verified. Restartable at any point: everything it
 * decides is derived from the spool's durable state and the camera's inventory. */
#pragma once

#include "camera.h"
#include "dock-context.h"
#include "spool.h"

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

/* What the offload tells its owner (the bay). Every member may be NULL but done.
 * segment: "recording/000003". */
typedef struct OffloadCallbacks {
        /* The manifest of a pulled segment names the officer who recorded it. */
        void (*officer)(const char *officer_id, void *userdata);
        /* A segment failed verification: quarantined, its recording held on the camera. */
        void (*quarantined)(const char *segment, const char *reason, void *userdata);
        /* The camera refused to delete a segment central storage holds. */
        void (*delete_refused)(const char *segment, uint16_t rc, void *userdata);
        /* error: 0 when every segment is in central storage and every deletable
         * one was deleted; < 0 when the camera failed (the bay recovers and
         * starts a new offload). Called last; the owner may free o in it. */
        void (*done)(Offload *o, int error, const OffloadSummary *summary, void *userdata);
} OffloadCallbacks;
/* Progress: bytes of the current pull. */
typedef struct OffloadProgress {
        const char *segment;        /* "rec/000003" or NULL */
        uint64_t offset, size;
        unsigned done, total;       /* segments */
        bool waiting_for_storage;   /* pulled, waiting for confirmations */
        bool spool_full;
} OffloadProgress;

/* Offload camera, docked in bay (for logs), whose serial is authenticated. */
int offload_start(const DockContext *ctx, Camera *camera, const char *bay, const char *serial,
                  const OffloadCallbacks *cb, void *userdata, Offload **ret);
Offload *offload_free(Offload *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Offload *, offload_free);

/* Central storage confirmed a segment of this camera: delete it if allowed. */
void offload_segment_confirmed(Offload *o, const SegmentId *id);
/* Spool space was freed: paused pulls may go on. */
void offload_spool_freed(Offload *o);
void offload_get_progress(Offload *o, OffloadProgress *ret);
const OffloadSummary *offload_summary(Offload *o);
