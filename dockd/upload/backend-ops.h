/* SPDX-License-Identifier: Apache-2.0 */
/* backend-ops.h: central storage, one interface (file, s3, tus; backend.h
 * makes the configured one). A put stores one object and confirms that the
 * server holds exactly its bytes; only then does its callback report success.
 * All backends run on the daemon's sd-event loop. */
#pragma once

#include <systemd/sd-event.h>

#include "dockd-config.h"
#include "macro.h"

typedef struct Backend Backend;
typedef struct BackendPut BackendPut;

/* Slots: the uploader lets at most [storage] concurrency data requests run at
 * once, across all puts. A put holds one slot from its start to its callback.
 * A backend that can send several requests of one object at once (S3 parts)
 * says how many more it could use now with want_slots (the put's userdata is
 * passed back), receives each through BackendOps.grant_slot, and gives one back
 * with release_slot when a request ends. The uploader hands out free slots by
 * priority and in turn across cameras, so one large object cannot crowd out
 * the others. */
typedef void (*backend_want_slots_t)(BackendPut *p, unsigned n, void *userdata);
typedef void (*backend_release_slot_t)(BackendPut *p, void *userdata);

typedef struct BackendObject {
        const char *key;           /* full object key, prefix included */
        const char *path;          /* local file holding the bytes */
        uint64_t size;
        uint8_t sha256[32];        /* what the server must be shown to hold */
        const char *content_type;
        usec_t retain_until;       /* CLOCK_REALTIME; 0: no retention */
        bool legal_hold;
        /* A file the backend may use to persist resume state (written atomically);
         * removed by the backend when the put completes. NULL: no resume. */
        const char *state_path;
        /* Optional (NULL: the put runs on its one slot); see "Slots" above. */
        backend_want_slots_t want_slots;
        backend_release_slot_t release_slot;
} BackendObject;

/* error: 0 confirmed; -EEXIST the key already holds other bytes, which were
 * left untouched (evidence is write-once: the caller stores its bytes under
 * another key); -EIO the server holds other bytes than were sent (after
 * retries); -EACCES refused (credentials, policy); -EPERM refused for good (a
 * 4xx no retry changes, e.g. Object Lock on a bucket without it); -ENOENT local
 * file gone; other negative errno: failed for now, the caller retries later.
 * message: a short reason. */
typedef void (*backend_put_done_t)(BackendPut *put, int error, const char *message, void *userdata);


/* What a confirmed put leaves to find the object by and prove it again later
 * (reconciliation): valid during the put's callback. */
typedef struct BackendConfirmation {
        const char *etag;          /* s3: the object's ETag (unquoted); NULL elsewhere */
        const char *location;      /* tus: the upload URL; NULL elsewhere */
} BackendConfirmation;

/* ---- reading back (reconciliation) ---- */

typedef struct BackendRequest BackendRequest;   /* a stat, list or get in flight */

/* A read back: error 0 and the object's bytes (valid during the call); -ENOENT
 * no such object; -EFBIG larger than max (not read beyond it); other negative
 * errno: cannot tell now. r: as returned by get, NULL when get called back
 * before it returned. */
typedef void (*backend_get_done_t)(BackendRequest *r, int error, const uint8_t *data, size_t size,
                                   void *userdata);

typedef struct BackendStatSpec {
        const char *key;           /* full object key */
        const char *location;      /* tus: the upload URL from its confirmation; NULL: unknown */
        bool read_back;            /* hash the stored bytes (SHA-256) */
        bool object_lock;          /* s3: report retention and legal hold */
} BackendStatSpec;

typedef struct BackendStat {
        uint64_t size;
        const char *etag;          /* s3, as reported (quoted or not); NULL elsewhere */
        bool have_sha256;          /* read back: sha256 is the stored bytes' */
        uint8_t sha256[32];
        bool lock_reported;        /* s3: the answer carried Object Lock headers */
        const char *lock_mode;     /* "GOVERNANCE", "COMPLIANCE" or NULL */
        uint64_t retain_until;     /* seconds since the epoch; 0: none */
        bool legal_hold;
} BackendStat;

/* error: 0 found (st valid during the call); -ENOENT not in the store; other
 * negative errno: could not be asked (message says why). Never called from
 * inside the call that started the request. */
typedef void (*backend_stat_done_t)(BackendRequest *r, int error, const BackendStat *st, const char *message,
                                    void *userdata);

typedef struct BackendListEntry {
        const char *key;
        uint64_t size;
        const char *etag;
} BackendListEntry;

/* One page of keys in lexical order, all under the prefix; next: where the
 * next page starts (NULL: this was the last). */
typedef void (*backend_list_done_t)(BackendRequest *r, int error, const BackendListEntry *entries, size_t n,
                                    const char *next, const char *message, void *userdata);

/* A request that answers only whether it worked: error 0 yes, -EOPNOTSUPP the
 * store cannot (say why in message), other negative errno: failed for now. */
typedef void (*backend_done_t)(BackendRequest *r, int error, const char *message, void *userdata);

typedef struct BackendOps {
        const char *name;
        int (*put)(Backend *b, const BackendObject *o, backend_put_done_t cb, void *userdata,
                   BackendPut **ret);
        /* Stop a put; resume state stays; the callback is not called. */
        void (*cancel)(BackendPut *p);
        /* Bytes of this put the server acknowledged so far (progress display). */
        uint64_t (*progress)(BackendPut *p);
        void (*free)(Backend *b);
        /* One more slot for p (optional: only for backends that call want_slots). */
        void (*grant_slot)(BackendPut *p);
        /* During a successful put's callback: how to find the object again. */
        void (*confirmation)(BackendPut *p, BackendConfirmation *ret);
        /* Reconciliation: what the store holds under a key (every backend). */
        int (*stat)(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                    BackendRequest **ret);
        /* A page of the keys under a prefix; NULL where the store cannot list (tus). */
        int (*list)(Backend *b, const char *prefix, const char *continuation, backend_list_done_t cb, void *userdata,
                    BackendRequest **ret);
        /* Stop a stat or list; its callback is not called. */
        void (*request_cancel)(BackendRequest *r);
        /* Bytes sent to the store so far, resends included (NULL: not counted). */
        uint64_t (*bytes_sent)(Backend *b);
        /* Read a small object back (at most max bytes; manifests). The callback
         * may run before get returns (then *ret is NULL); else request_cancel
         * stops it. NULL where objects cannot be found by key (tus, unless the
         * deployment names uploads by key: backend-tus-check.c). */
        int (*get)(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                   BackendRequest **ret);
        /* Legal hold on objects already stored (NULL where the store has none:
         * file, tus). object_lock_enabled asks the store whether the bucket has
         * Object Lock enabled (0) or not (-EOPNOTSUPP); set_legal_hold sets it ON
         * on one key. Callbacks never run inside the call; request_cancel stops
         * them. */
        int (*object_lock_enabled)(Backend *b, backend_done_t cb, void *userdata, BackendRequest **ret);
        int (*set_legal_hold)(Backend *b, const char *key, backend_done_t cb, void *userdata, BackendRequest **ret);
} BackendOps;

struct Backend {
        const BackendOps *ops;
        sd_event *event;
        const DockdConfig *config;
};

static inline int backend_put(Backend *b, const BackendObject *o, backend_put_done_t cb,
                              void *userdata, BackendPut **ret) {
        return b->ops->put(b, o, cb, userdata, ret);
}
static inline int backend_get(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                              BackendRequest **ret) {
        return b->ops->get ? b->ops->get(b, key, max, cb, userdata, ret) : -EOPNOTSUPP;
}
static inline void backend_put_cancel(Backend *b, BackendPut *p) {
        if (p)
                b->ops->cancel(p);
}
static inline int backend_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                               BackendRequest **ret) {
        return b->ops->stat(b, spec, cb, userdata, ret);
}
static inline int backend_list(Backend *b, const char *prefix, const char *continuation, backend_list_done_t cb,
                               void *userdata, BackendRequest **ret) {
        return b->ops->list ? b->ops->list(b, prefix, continuation, cb, userdata, ret) : -EOPNOTSUPP;
}
static inline void backend_request_cancel(Backend *b, BackendRequest *r) {
        if (r)
                b->ops->request_cancel(r);
}
