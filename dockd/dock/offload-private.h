/* SPDX-License-Identifier: Apache-2.0 */
/* offload-private.h: the Offload object, shared by offload.c (inventory, pull,
 * the driver) and offload-delete.c (matching names to content, deletion). */
#pragma once

#include <openssl/evp.h>

#include "generic-listing.h"
#include "offload-types.h"
#include "worker.h"

/* Of a camera that does not sign: where an inventory segment's file is on the
 * camera (its claim, for the sealed manifest's source_path) and its date. */
typedef struct SealedSource {
        char *path;
        time_t date;                         /* 0: the camera did not say */
} SealedSource;

typedef struct SegmentMatch {
        bool checked;                        /* matched against the spool in this docking */
        bool proven;                         /* the camera's .man has the SHA-256 the spool holds for it */
        char variant[SEGMENT_VARIANT_MAX];   /* "", or other content under a reused name */
        bool owed_asked;                     /* its owed chain check was asked in this pass */
        bool rechecked;                      /* generic: the object is still the one sealed, asked just now */
} SegmentMatch;

typedef enum Phase {
        PHASE_INVENTORY,
        PHASE_PULL,
        PHASE_DELETE,
        PHASE_DONE,
} Phase;

struct Offload {
        const DockContext *ctx;
        Camera *camera;
        char *bay;                  /* for logs */
        char *serial;
        OffloadCallbacks cb;
        void *userdata;
        Phase phase;
        const GenericCameraConfig *generic; /* a camera that does not sign: the dock seals (offload-seal.c) */
        SealedSource *sources;      /* per inventory segment, when generic */
        unsigned growing;           /* generic: files still being written, left for later */
        CameraInventory *inv;
        SegmentMatch *match;        /* per inventory segment */
        uint64_t *video_size;       /* per inventory segment: bytes this docking pulls, as
                                     * listed (progress); 0 for a segment the spool has */
        OffloadSummary summary;
        bool busy;                  /* a camera operation or worker job is in flight */
        bool failed;

        /* the segment being pulled */
        size_t cur;
        SegmentId id;
        char segname[96];
        uint8_t *man;
        size_t man_size;
        uint8_t *p7s;
        size_t p7s_size;
        size_t small;               /* which of small_files is being read */
        Manifest *manifest;
        char *reason;               /* why it is quarantined, NULL if not */
        bool trusted;               /* manifest valid, signed, about this segment: it heads the chain */
        bool chain_owed;            /* central storage could not answer its predecessor check yet */
        bool chain_missing;         /* ... because it does not hold the predecessor yet */
        CentralSearch *search;      /* a predecessor check in flight */
        int fd;
        uint64_t offset, size, unsynced, chunk_start;
        EVP_MD_CTX *hash;
        uint8_t sha[32];            /* the video's SHA-256, once pulled */
        WorkerJob *job;             /* a worker is using fd and hash (rehash, fsync, rename) */
        void (*job_next)(Offload *o); /* what follows the job, on the loop */
        const char *job_what;       /* for the log, when it fails */
        bool zombie;                /* freed while it ran: the job's end frees us */
        bool rereading;             /* offload_reread_object(): offset, size, hash are its */
        uint32_t reread_handle;
        void (*reread_done)(Offload *o, int error, uint16_t rc, uint64_t got, const uint8_t sha[32]);
        bool spool_wait;
        uint64_t camera_bytes;      /* of the spool held for this camera (within_share()) */
        bool share_logged;

        /* deletion */
        size_t del_seg;
        int del_kind;
        bool *refused;              /* per inventory segment: the camera refused a delete */
        bool rescan;                /* a confirmation came while we were busy */
        uint64_t confirmed_size;    /* generic: of the segment at del_seg, as confirmed */
        uint8_t confirmed_sha[32];  /* generic: and its bytes' SHA-256, as sealed and confirmed */

        /* owed chain checks (SegmentState.chain_owed), asked again with the upload backoff */
        bool owed_unanswered;       /* one could not be answered in this pass */
        unsigned owed_failures;     /* passes in a row with one that could not */
        sd_event_source *owed_timer;
        bool owed_again;            /* the timer fired: another pass once idle */
        bool repass;                /* a pass over the inventory after the first */
        bool reread_owed;           /* generic: the first sweep skipped files whose id is sealed */
        bool rereads;               /* generic: the sweep that reads those again, once every new
                                     * file was pulled (offload_match_sealed()) */

        /* offload_recording_deletable()'s verdict on inventory segments [rec_from, rec_to) */
        bool rec_known;
        bool rec_deletable;
        size_t rec_from, rec_to;
};

static inline const CameraSegment *cur_seg(Offload *o) {
        return &o->inv->segments[o->cur];
}

/* The spool's name of inventory segment i, with what this docking matched. */
static inline SegmentId seg_id(Offload *o, size_t i) {
        const CameraSegment *s = &o->inv->segments[i];
        const char *v = o->match[i].variant;

        return (SegmentId) { .serial = o->serial, .recording = s->recording_id, .index = s->index,
                             .variant = v[0] ? v : NULL };
}

void offload_log(Offload *o, int level, int error, const char *segment, const char *fmt, ...) _printf_(5, 6);
/* The camera failed: stop here; the bay recovers the camera and starts anew. */
void offload_fail(Offload *o, int error, const char *what);
void offload_step(Offload *o);
/* What offload_reread_object() read: error -EREMOTEIO with rc, the camera
 * refused; -ENODATA, it sent fewer bytes than asked (got of them hashed);
 * other < 0, the transport failed (the callee decides: offload_fail()).
 * Else sha is the SHA-256 of the got (= size) bytes. */
typedef void (*offload_reread_t)(Offload *o, int error, uint16_t rc, uint64_t got, const uint8_t sha[32]);
/* Read the camera's object at handle again, bytes [0, size), hashed as they
 * arrive and kept nowhere: the pull's own chunk loop (pull_chunk(), video_sink()),
 * never asking for more than size. A camera that does not sign proves nothing
 * about a file but its bytes. Busy until done; needs no pull in progress. */
void offload_reread_object(Offload *o, uint32_t handle, uint64_t size, offload_reread_t done);
/* The camera's inventory is known (taken over): the pull begins. */
void offload_take_inventory(Offload *o, CameraInventory *inv);
/* A recording (that of inventory segment i) is held on the camera while any of
 * its segments on the camera is quarantined, not yet pulled and verified, or
 * owes a chain check central storage could not answer yet. O(segments of the
 * recording) the first time in a delete pass, O(1) for its other segments. */
bool offload_recording_deletable(Offload *o, size_t i);

/* offload-progress.c */
/* The video bytes of an inventory segment as listed; a size the camera has
 * not told (UINT64_MAX) counts as nothing. */
uint64_t offload_listed_video_size(const CameraSegment *seg);
/* o->video_size of a new inventory: what this docking pulls, 0 for a segment
 * the spool has pulled under its name. */
void offload_progress_init(Offload *o);

/* offload-delete.c */
/* Before anything is decided about the segment at o->cur: if the spool knows its
 * name from an earlier docking, read the camera's .man to learn whether it is
 * that content. 1: decided at once; 0: reading (offload_step() follows); < 0: failed. */
int offload_match_segment(Offload *o);
/* Delete, in order, every confirmed segment of every fully verified recording. */
void offload_delete_next(Offload *o);
/* Deletions a crash interrupted whose files the camera no longer has: finish their records. */
int offload_finish_interrupted_deletions(Offload *o);

/* offload-seal.c */
/* The complete files of a generic survey's listing as an inventory of
 * one-segment recordings, each with its source; files still being written are
 * counted in *ret_growing. */
int offload_sealed_inventory(const GenericListing *l, CameraInventory **ret, SealedSource **ret_sources,
                             unsigned *ret_growing);
void offload_sources_free(SealedSource *s, size_t n);
/* The video of o->cur is all in the spool (o->offset bytes, o->sha): write its
 * sealed manifest and the dock's signature to the spool and into o, chained
 * per camera. */
int offload_seal(Offload *o);
/* Just before deleting the file of a camera that does not sign (o->del_seg):
 * ask the camera again what the object is (GetObjectInfo), then read its
 * bytes again (offload_reread_object(), at most the confirmed size). Still the
 * name, the size and the SHA-256 that were sealed and confirmed: deleted; else
 * the camera keeps it ("camera storage not cleared"). A camera that does not
 * sign proves nothing else: a file rewritten with the same size keeps its name
 * and handle. Busy until the answer, then offload_delete_next(). */
void offload_recheck_object(Offload *o);
/* The ids a generic file's content with SHA-256 sha may be kept under, tried
 * in order k = 0 .. OFFLOAD_SEALED_VARIANTS - 1: the plain id (ret ""), then
 * variants named by sha (segment_variant()) and by its SHA-256 hashed again
 * k - 1 times: a variant taken by other bytes (a camera that sent other bytes
 * to the pull than to the read that named it) does not leave these bytes
 * without an id. Bounded: beyond them the file stays on the camera. */
#define OFFLOAD_SEALED_VARIANTS 4
void offload_sealed_variant(const uint8_t sha[32], unsigned k, char ret[SEGMENT_VARIANT_MAX]);
/* The spool holds a segment under the id of the file at o->cur (its path,
 * size and date: the camera's word). Read its bytes again and match their
 * SHA-256: the same as sealed under that id or one of its variants, proven
 * (already offloaded); else o->match[o->cur].variant names a free id, under
 * which it is pulled and sealed as new content. Busy until then, then
 * offload_step(). Every kept file is read again at every docking: the cost of
 * knowing (README, "Cameras that do not sign"); in a sweep of its own after
 * every new file was pulled (Offload.rereads), so that the cost falls on what
 * is likely offloaded already. */
void offload_match_sealed(Offload *o);
/* o->cur was pulled and sealed: count and log it. */
void offload_report_sealed(Offload *o);

/* offload-chain.c */
/* What central storage's answer about segment index - 1 (central_find_manifest())
 * means for segment index: NULL it links, else why it is quarantined (in buf). */
const char *offload_chain_verdict(int result, uint32_t index, char *buf, size_t size);
/* A segment is quarantined: count it, tell the bay, raise the integrity alert. */
void offload_report_quarantined(Offload *o, const char *segname, const char *recording, const char *reason);
/* Ask central storage again about the segment before o->cur, whose state st owes
 * that check; busy until the answer, then offload_step(). */
void offload_check_owed(Offload *o, const SegmentState *st);
/* A pass over the inventory ended with an owed check unanswered: another pass
 * after the upload backoff. */
int offload_owed_retry_later(Offload *o);
