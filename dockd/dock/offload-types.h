/* SPDX-License-Identifier: Apache-2.0 */
/* offload-types.h: what an offload reports (offload.h), apart from its
 * functions, so that offload-private.h can share it without a circle. */
#pragma once

#include "camera.h"
#include "dock-context.h"
#include "spool.h"

typedef struct Offload Offload;

typedef struct OffloadSummary {
        unsigned segments;          /* complete segments seen on the camera */
        unsigned pulled;            /* pulled in this docking */
        unsigned verified;
        unsigned sealed;            /* of a camera that does not sign: pulled and sealed by the dock */
        unsigned quarantined;
        unsigned deleted;
        unsigned delete_refused;
        unsigned held_recordings;   /* recordings kept on the camera: integrity, or a hold */
        unsigned preserved;         /* of them, kept only for a preservation request's hold */
        unsigned not_yet_complete;  /* segments the camera is still writing */
        uint64_t bytes_pulled;      /* object bytes received in this docking */
        uint64_t bytes_resumed;     /* already in the spool from an earlier attempt */
        usec_t hash_usec;           /* time spent hashing pulled bytes (benchmarks) */
        uint64_t bytes_deleted;     /* segment bytes deleted from the camera */
        uint64_t bytes_reread;      /* generic: read again (not kept) to prove a file is what was sealed */
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
        /* Something the docking's report must say: code (docs/health.md),
         * severity (a Severity of health.h), the segment it is about, one sentence. */
        void (*finding)(const char *code, int severity, const char *segment, const char *summary, void *userdata);
        /* error: 0 when every segment is in central storage and every deletable
         * one was deleted; < 0 when the camera failed (the bay recovers and
         * starts a new offload). Called last; the owner may free o in it. */
        void (*done)(Offload *o, int error, const OffloadSummary *summary, void *userdata);
} OffloadCallbacks;
/* Progress: bytes of the current pull. */
typedef struct OffloadProgress {
        const char *segment;        /* "rec/000003" or NULL */
        const char *recording;      /* of the segment being pulled, NULL if none */
        uint32_t index;
        uint64_t offset, size;
        unsigned done, total;       /* segments */
        uint64_t bytes_done;        /* video bytes of the segments done, and of the current pull */
        uint64_t bytes_total;       /* video bytes this docking pulls: the segments the spool
                                     * lacks (shrinks when one turns out to be there) */
        bool waiting_for_storage;   /* pulled, waiting for confirmations */
        bool spool_full;
} OffloadProgress;
