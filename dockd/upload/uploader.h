/* SPDX-License-Identifier: Apache-2.0 */
/* uploader.h: the queue in front of central storage. A job is a few objects put
 * in order (a segment's .mp4, .man, .p7s); jobs of higher priority go first,
 * cameras take turns within a priority, at most [storage] concurrency jobs run at
 * once, and failures are retried with exponential backoff and jitter until they
 * succeed: nothing is dropped because the network is down. A refusal that no
 * retry changes (-EPERM) is an alert and ends the job instead. */
#pragma once

#include "backend-ops.h"

typedef struct Uploader Uploader;
typedef struct UploadJob UploadJob;

#define UPLOAD_MAX_OBJECTS 4

enum {
        UPLOAD_PRIORITY_NORMAL = 0,
        UPLOAD_PRIORITY_EVIDENTIARY = 10,
        UPLOAD_PRIORITY_INTEGRITY = 20,    /* quarantined segments and reports */
};

typedef struct UploadObjectSpec {
        const char *key;
        const char *path;
        const char *content_type;
        const char *state_path;
        uint64_t size;
        uint8_t sha256[32];
        usec_t retain_until;
        bool legal_hold;
} UploadObjectSpec;

/* Each object that central storage confirmed, and how to find it again there
 * (o->key is the conflict key when the object went there). */
typedef void (*upload_object_done_t)(UploadJob *j, const UploadObjectSpec *o, const BackendConfirmation *conf,
                                     void *userdata);
/* error 0: all objects confirmed. -EEXIST: every object is in central storage,
 * but at least one under its conflict key (upload_conflict_key()): its own key
 * holds other bytes, which are kept; an integrity alert was raised, and the
 * job is over (it must not be confirmed as if stored under its keys). -EPERM:
 * central storage refuses it for good (alert raised; it is tried again when
 * queued again). Other negative: given up (the local file is gone). */
typedef void (*upload_job_done_t)(UploadJob *j, int error, const char *message, void *userdata);

typedef struct UploadJobSpec {
        const char *name;          /* for logs: "BWC-0001/rec/000003" */
        const char *group;         /* fairness: the camera serial */
        int priority;
        UploadObjectSpec objects[UPLOAD_MAX_OBJECTS];
        size_t n_objects;
        upload_object_done_t object_done;
        upload_job_done_t done;
        void *userdata;
        /* The job owns userdata: destroy releases it once the job is over, however
         * it ends (after done, when the uploader is freed with the job unfinished,
         * or when uploader_add fails). NULL: the caller keeps track of it. */
        void (*destroy)(void *userdata);
} UploadJobSpec;

/* Where an object goes whose key holds other bytes: "<key>.conflict-<SHA-256
 * of its bytes, hex>", unique per content, so that a retry finds its own. */
char *upload_conflict_key(const char *key, const uint8_t sha256[32]);

int uploader_new(sd_event *event, const DockdConfig *config, Backend *backend, Uploader **ret);
Uploader *uploader_free(Uploader *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(Uploader *, uploader_free);

int uploader_add(Uploader *u, const UploadJobSpec *spec, UploadJob **ret);
/* Is a job of this name queued or running? */
bool uploader_has(Uploader *u, const char *name);

/* Why a storage request failed, for the metrics (a fixed list: a bounded label). */
typedef enum UploadFailure {
        UPLOAD_FAILURE_CONNECT,    /* refused, reset, unreachable */
        UPLOAD_FAILURE_TIMEOUT,
        UPLOAD_FAILURE_TLS,
        UPLOAD_FAILURE_AUTH,       /* 401, 403 */
        UPLOAD_FAILURE_SERVER,     /* 5xx, slow down */
        UPLOAD_FAILURE_MISMATCH,   /* the store holds other bytes */
        UPLOAD_FAILURE_PROTOCOL,   /* an answer that makes no sense, other 4xx */
        UPLOAD_FAILURE_LOCAL,      /* the spool copy */
        UPLOAD_FAILURE_OTHER,
        _UPLOAD_FAILURE_MAX,
} UploadFailure;

const char *upload_failure_to_string(UploadFailure f);
UploadFailure upload_failure_classify(int error, const char *message);

typedef struct UploaderStats {
        size_t queued;             /* jobs waiting, running included */
        size_t running;
        size_t waiting_retry;      /* of them, failed and waiting out their backoff */
        uint64_t bytes_pending;    /* not yet confirmed */
        uint64_t bytes_confirmed;  /* since start */
        uint64_t bytes_sent;       /* to the store since start, resends included */
        uint64_t failures[_UPLOAD_FAILURE_MAX];   /* since start */
        bool failing;              /* the last attempt failed */
        char *last_error;          /* borrowed */
} UploaderStats;

void uploader_get_stats(Uploader *u, UploaderStats *ret);

/* The queue gained or lost a job, or central storage started or stopped
 * failing: what uploader_get_stats() reports changed. Called from inside the
 * uploader; the handler must not add or end jobs. */
typedef void (*uploader_changed_t)(void *userdata);
void uploader_set_changed_handler(Uploader *u, uploader_changed_t cb, void *userdata);

/* Jobs waiting out their backoff are started now, as if central storage had just
 * come back (an operator's RetryStorage); their backoff grows on as before if
 * they fail again. Returns how many were waiting. */
size_t uploader_retry_now(Uploader *u);
