/* SPDX-License-Identifier: Apache-2.0 */
/* s3-put.h: one put of the s3 backend (backend-s3.c drives it): the object's
 * parts and what the store acknowledged of them, the upload id, the resume
 * state file that keeps both across a restart, the slots it holds, and its end.
 * Nothing here sends a request on its own. */
#pragma once

#include "backend-remote.h"
#include "filehash.h"

#define S3_MAX_PARTS 10000
#define S3_LIST_PAGE 1000
#define S3_XML_MAX (8 * MiB)
#define S3_MAX_PART_FAILURES 3     /* a part the server keeps getting wrong: the put fails */
#define S3_MAX_RESTARTS 3          /* upload ids that vanish under one put */
#define S3_STATE_MAX (1 * MiB)
#define S3_STATE_MAGIC "dockd-s3-upload 1"

typedef enum S3ProbeState {
        S3_PROBE_NONE,              /* not yet, or the last try failed */
        S3_PROBE_RUNNING,
        S3_PROBE_DONE,
} S3ProbeState;

typedef struct S3Backend {
        RemoteBackend remote;
        char *object_base;          /* URL of the bucket, without a trailing '/' */
        char *bucket_display;       /* "s3://bucket" for messages */
        bool complete_without_checksums;   /* the store rejects ChecksumSHA256 in Complete (Swift) */

        /* What the store supports, found out once before the first put (s3-probe.c). */
        S3ProbeState probe;
        bool if_none_match;         /* a conditional PUT of an existing key is refused (412) */
        bool lock_api;              /* PutObjectRetention/PutObjectLegalHold exist (not taken for PUTs) */
        HttpRequest *probe_req;
        unsigned probe_step;
        char *probe_key;            /* <prefix>probe/<dock>/if-none-match: one fixed key per dock */
        char *probe_versions[2];    /* of the probe object, as the PUTs that wrote it answered */
        unsigned n_probe_versions;
        bool probe_written;         /* a PUT wrote the probe object: it is removed after */
        BackendPut *waiting;        /* puts waiting for the probe */
} S3Backend;

typedef enum S3Phase {
        S3_WAIT_SINGLE,             /* single PUT, waiting for the hash */
        S3_SINGLE_PUT,
        S3_HEAD_EXISTING,           /* is it there already (a restart after completing)? */
        S3_WAIT_EXISTING,           /* it is; its ETag is compared once hashed */
        S3_READ_BACK,               /* same size, other ETag: its bytes are compared with ours */
        S3_ABORT,                   /* AbortMultipartUpload of an upload never to be completed */
        S3_CREATE,
        S3_LIST,
        S3_PARTS,
        S3_COMPLETE,
        S3_VERIFY,
        S3_LOOK,                    /* HEAD of the key before a write, or after a 412 */
        S3_RETENTION,               /* PutObjectRetention/LegalHold after a multipart upload */
} S3Phase;

/* What a look at the key (HEAD) is for. */
typedef enum S3Look {
        S3_LOOK_BEFORE_PUT,
        S3_LOOK_BEFORE_COMPLETE,
        S3_LOOK_AFTER_412,
} S3Look;

typedef struct S3Part {
        BackendPut *put;
        unsigned number;            /* 1-based */
        uint64_t offset;
        uint64_t length;
        uint8_t md5[16];
        uint8_t sha256[32];
        bool hashed;
        bool acked;                 /* the server holds it, with our MD5 */
        bool sending;
        bool listed;                /* ListParts or the state file named it */
        char listed_etag[33];
        uint64_t listed_size;
        unsigned failures;
        HttpRequest *req;
} S3Part;

struct BackendPut {
        RemotePut base;
        S3Backend *s3;
        char *key_escaped;
        backend_want_slots_t want_slots;
        backend_release_slot_t release_slot;

        S3Phase phase;
        bool single;
        uint64_t part_size;
        unsigned n_parts;
        S3Part *parts;
        char etag[48];              /* what the object's ETag must be, once hashed */
        char server_etag[48];       /* what HEAD found before uploading */
        char server_sha256[65];     /* and its x-amz-meta-sha256, if any */
        char server_size[24];       /* and its Content-Length */

        /* One pass over the file, a part at a time, in order. */
        FileHash hash;
        unsigned n_hashed;
        EVP_MD_CTX *full;
        bool hash_done;
        int hash_error;

        char *upload_id;
        char *stale_upload_id;      /* never to be completed, being aborted: from a state file that no
                                     * longer fits, or ours when the key turned out to be taken */
        void (*after_abort)(BackendPut *p);
        unsigned list_marker;
        HttpRequest *meta;          /* the metadata request running, if any */
        unsigned slots;             /* held: 1 + extras */
        unsigned in_flight;         /* part requests running */
        unsigned wanted;
        unsigned restarts;
        bool complete_had_checksums;   /* the Complete in flight carries ChecksumSHA256 */
        uint64_t acked_bytes;

        int fail_error;             /* set: no new parts; fail once those running end */

        S3Look look;
        bool lock_sent;             /* retention done; legal hold next */
        BackendPut *next_waiting;   /* in S3Backend.waiting */
        bool is_waiting;
};

extern const RemotePutOps s3_put_ops;

/* <bucket>/<key>[query]; NULL when out of memory. */
char *s3_put_url(BackendPut *p, const char *query_fmt, ...) _printf_(2, 3);
/* A request on the backend's client; takes url (from s3_put_url(), NULL: -ENOMEM). */
int s3_put_request(BackendPut *p, const char *method, char *url, HttpRequest **ret);

/* The upload id and every acknowledged part, atomically (no state path: 0). */
int s3_put_state_save(BackendPut *p);
/* What a previous run left: its upload id and parts (to be checked with
 * ListParts), or an upload that no longer fits, to be aborted. */
void s3_put_state_load(BackendPut *p);

void s3_put_stop_requests(BackendPut *p);
/* The put is over (backend-remote.h). */
void s3_put_finish(BackendPut *p, int error, const char *fmt, ...) _printf_(3, 4);
/* A part failed for now: start nothing new, let the parts on the wire finish
 * (their bytes count), then fail the put; the uploader retries with backoff. */
void s3_put_fail_soon(BackendPut *p, int error, const char *fmt, ...) _printf_(3, 4);
/* Ask the uploader for the slots the waiting parts could use, give back those
 * nobody here can use. */
void s3_put_update_slots(BackendPut *p);
/* p no longer waits for the probe (s3-probe.h): it ends, or is cancelled. */
void s3_put_unwait(BackendPut *p);
/* The put's first request, once the store's support is known (backend-s3.c). */
void s3_put_begin(BackendPut *p);
/* A part both hashed and listed by the store: acknowledged if the store's is ours. */
void s3_put_reconcile(BackendPut *p, S3Part *part);
