/* SPDX-License-Identifier: Apache-2.0 */
/* custody-tally.h: what the custody log says happened, counted. It reads the
 * records (from a checkpoint on, then each one as it is appended) and keeps
 * (1) the segment counters the metrics export, exact across restarts and
 * crashes because they are counts of durable records, and (2) for every segment
 * deleted from a camera, its three objects as central storage confirmed them,
 * one file per camera under <state_dir>/reconcile/objects/: the list that
 * reconciliation proves is still in central storage.
 *
 * The checkpoint (<state_dir>/reconcile/tally) holds the counts and the
 * segments under way as of one seq, and is replaced atomically: after a crash
 * the records after it are read again, and lines written to the object lists
 * twice are merged when a list is read (custody_tally_read_objects). */
#pragma once

#include "log.h"
#include "macro.h"

typedef struct CustodyTally CustodyTally;

typedef enum TallyStage {
        TALLY_PULLED,        /* segments, video bytes */
        TALLY_VERIFIED,
        TALLY_QUARANTINED,
        TALLY_UPLOADED,      /* objects (video, manifest, signature), their bytes */
        TALLY_CONFIRMED,     /* segments, video bytes */
        TALLY_DELETED,       /* segments deleted from cameras, video bytes */
        _TALLY_STAGE_MAX,
} TallyStage;

const char *tally_stage_to_string(TallyStage s);

typedef struct TallyCounts {
        uint64_t count[_TALLY_STAGE_MAX];
        uint64_t bytes[_TALLY_STAGE_MAX];
} TallyCounts;

/* One object of a segment deleted from a camera, as its "uploaded" record says. */
typedef struct TallyObject {
        char *key;
        char *segment;             /* "<recording>/<index>" */
        uint64_t size;             /* UINT64_MAX: not recorded */
        uint8_t sha256[32];
        char *etag;                /* s3; NULL: not recorded */
        char *location;            /* tus upload URL; NULL: not recorded */
        uint64_t retain_until;     /* seconds since the epoch; 0: none recorded */
        bool legal_hold;
} TallyObject;

void tally_object_done(TallyObject *o);

/* custody_dir: the log's directory (current.jsonl, sealed/); state_dir: where
 * reconcile/ lives. Loads the checkpoint, if any; reads nothing else yet. */
int custody_tally_new(const char *custody_dir, const char *state_dir, CustodyTally **ret);
CustodyTally *custody_tally_free(CustodyTally *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(CustodyTally *, custody_tally_free);

/* Read every record after the checkpoint, sealed files first, then
 * current.jsonl; ends with a checkpoint. Returns the number of records read. */
int custody_tally_catch_up(CustodyTally *t);

/* A record the log just made durable (its observer). */
void custody_tally_record(CustodyTally *t, uint64_t seq, const char *event, const char *camera,
                          const char *segment, const LogField *fields);

/* Make the object lists durable, then replace the checkpoint. */
int custody_tally_checkpoint(CustodyTally *t);

const TallyCounts *custody_tally_counts(CustodyTally *t);

/* Serials (NULL-terminated, sorted; caller frees with strv_free) that have an
 * object list. */
int custody_tally_cameras(CustodyTally *t, char ***ret);
/* A camera's objects, sorted by key, each key once (the last line wins).
 * Caller frees each with tally_object_done() and the array with free(). */
int custody_tally_read_objects(CustodyTally *t, const char *serial, TallyObject **ret, size_t *ret_n);
