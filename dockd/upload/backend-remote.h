/* SPDX-License-Identifier: Apache-2.0 */
/* backend-remote.h: what the s3 and tus backends share, both being a server
 * behind HTTP: the client, its credentials (read again after the server
 * refused them: a fixed file takes effect at the next attempt), a worker pool
 * for hashing, and the skeleton of a put: the object it stores, its spool file
 * opened and checked, its resume-state file in the spool, and its end, reported
 * once and from the loop, however the put ends. */
#pragma once

#include <systemd/sd-event.h>

#include "backend-ops.h"
#include "credentials.h"
#include "http.h"
#include "worker.h"

typedef struct RemoteBackend {
        Backend backend;
        const char *section;           /* "s3", "tus": its configuration section */
        const char *display;           /* "S3", "tus": for messages */
        const char *credentials_name;  /* [section] credentials=, NULL: none */
        CredentialsKind credentials_kind;
        HttpClient *http;
        Credentials *creds;
        WorkerPool *pool;
} RemoteBackend;

typedef struct RemotePut RemotePut;

/* BackendOps.bytes_sent of a remote backend: its client's count. */
uint64_t remote_bytes_sent(Backend *b);

typedef struct RemotePutOps {
        /* Stop every request in flight (the put ends). */
        void (*stop)(RemotePut *p);
        /* Free what the backend added to the put, not the put itself. */
        void (*done)(RemotePut *p);
        /* The server showed it holds the object: a debug line saying how. */
        void (*confirmed)(RemotePut *p);
} RemotePutOps;

/* The first member of each remote backend's struct BackendPut. */
struct RemotePut {
        RemoteBackend *remote;
        const RemotePutOps *ops;
        char *key;
        char *path;
        char *state_path;              /* NULL: no resume for this object */
        char *content_type;
        uint64_t size;
        uint8_t sha256[32];
        usec_t retain_until;
        bool legal_hold;
        backend_put_done_t cb;
        void *userdata;

        int fd;                        /* the spool copy */
        WorkerJob *hash_job;           /* a worker reads fd into the put's memory */
        bool finished;
        bool cancelled;
        int finish_error;
        sd_event_source *finish_source;
        char message[512];
};

/* Set up rb (its Backend with ops, the credentials if there are any). On
 * failure *ret_error says why, and rb is cleaned up. */
int remote_backend_init(RemoteBackend *rb, const BackendOps *ops, sd_event *event, const DockdConfig *config,
                        const char *section, const char *display, const char *credentials_name,
                        CredentialsKind kind, char **ret_error);
/* The HTTP client (with the credentials filled in) and the worker pool. */
int remote_backend_start(RemoteBackend *rb, HttpClientConfig *hc, char **ret_error);
void remote_backend_done(RemoteBackend *rb);

/* p is the start of a calloc()ed struct BackendPut of size bytes; it takes the
 * object's description. Returns the put, or NULL when out of memory. */
RemotePut *remote_put_new(RemoteBackend *rb, size_t size, const RemotePutOps *ops, const BackendObject *o,
                          backend_put_done_t cb, void *userdata);
/* Open the spool copy and check its size; when that fails the put is finished. */
int remote_put_open(RemotePut *p);
/* The end of the put (the first call wins): stop its requests, and report it
 * from the loop. On success the resume state is removed; a refusal (-EACCES)
 * adds what it means to the message and reads the credentials again. */
void remote_put_finishv(RemotePut *p, int error, const char *fmt, va_list ap) _printf_(3, 0);
/* Cancelled by the uploader: no callback; freed once no worker uses it. */
void remote_put_release(RemotePut *p);
/* A hash job came back: true when the put was released meanwhile (and is
 * freed now: do not touch it). */
bool remote_put_hash_returned(RemotePut *p);
void remote_put_free(RemotePut *p);

/* The resume state: a magic first line, then key= and size= lines, then
 * the backend's own "name=value" lines (extra), replaced atomically. */
int remote_put_state_save(RemotePut *p, const char *magic, const char *extra);
typedef void (*remote_state_line_t)(RemotePut *p, const char *name, const char *value, void *userdata);
/* Each "name=value" line of the state an earlier run left (key and size
 * included). -ENOENT: none; -EBADMSG: not one of ours (another magic, a line
 * without '=', too large), logged with the file's name, and no line given. */
int remote_put_state_load(RemotePut *p, const char *magic, size_t max, remote_state_line_t line, void *userdata);
void remote_put_state_remove(RemotePut *p);
