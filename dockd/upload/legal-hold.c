/* SPDX-License-Identifier: Apache-2.0 */
/* legal-hold.c: see legal-hold.h. One object at a time: a preservation request
 * is rare and its recording has a handful of objects. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legal-hold.h"
#include "log.h"
#include "object-key.h"
#include "s3-protocol.h"

#define LEGAL_HOLD_MAX_KEYS 100000   /* a recording has far fewer: a store that lists more is not believed */

typedef struct HeldObject {
        char *key, *etag;
} HeldObject;

struct LegalHoldJob {
        LegalHoldJob *next;
        LegalHoldJob **list;
        Backend *backend;
        CustodyLog *custody;
        char *serial, *recording, *reference;
        char *prefixes[2];           /* evidence/ and quarantine/ of the recording */
        unsigned prefix;             /* the one being listed */
        BackendRequest *req;
        HeldObject *objects;
        size_t n_objects, cur, applied, failed;
        bool listed;                 /* objects given, not listed */
};

static void job_free(LegalHoldJob *j) {
        if (!j)
                return;
        backend_request_cancel(j->backend, j->req);
        for (size_t i = 0; i < j->n_objects; i++) {
                free(j->objects[i].key);
                free(j->objects[i].etag);
        }
        free(j->objects);
        free(j->prefixes[0]);
        free(j->prefixes[1]);
        free(j->serial);
        free(j->recording);
        free(j->reference);
        free(j);
}

static void job_end(LegalHoldJob *j) {
        for (LegalHoldJob **p = j->list; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        j->req = NULL;   /* the request that called back is over */
        job_free(j);
}

void legal_hold_jobs_free(LegalHoldJob **list) {
        while (*list) {
                LegalHoldJob *j = *list;

                *list = j->next;
                job_free(j);
        }
}

static void stays_local(const LegalHoldJob *j, const char *why) {
        log_warning("Recording %s of camera %s is held (reference %s), but central storage gets no legal hold "
                    "on what it already holds of it: %s. The hold stays on the dock and in the custody log, which "
                    "central storage receives.", j->recording, j->serial, j->reference, why);
}

static void next_object(LegalHoldJob *j);

/* "REC/000001" of a key ".../SERIAL/REC/000001.mp4": the segment the custody record names. */
static void segment_of(const LegalHoldJob *j, const char *key, char *buf, size_t size) {
        const char *p = strstr(key, j->recording), *dot = p ? strrchr(p, '.') : NULL;

        snprintf(buf, size, "%.*s", p ? (int) (dot ? dot - p : (ptrdiff_t) strlen(p)) : 0, p ? p : "");
}

static void object_failed(LegalHoldJob *j, const char *what, const char *why) {
        const HeldObject *o = &j->objects[j->cur];

        log_error("Legal hold on %s (recording %s of camera %s, reference %s) not confirmed: %s: %s.", o->key,
                  j->recording, j->serial, j->reference, what, strna(why));
        j->failed++;
        j->cur++;
        next_object(j);
}

static void on_confirmed(BackendRequest *r, int error, const BackendStat *st, const char *message, void *userdata) {
        LegalHoldJob *j = userdata;
        const HeldObject *o = &j->objects[j->cur];
        char segment[128];
        int k;

        j->req = NULL;
        if (error < 0)
                return object_failed(j, "HEAD after PutObjectLegalHold", message ?: strerror(-error));
        if (!st->legal_hold)
                return object_failed(j, "HEAD after PutObjectLegalHold", "the store does not report the legal hold");
        if (o->etag && !s3_etag_equal(st->etag, o->etag))
                return object_failed(j, "HEAD after PutObjectLegalHold", "the object's ETag changed");
        segment_of(j, o->key, segment, sizeof segment);
        k = custody_log_record(j->custody, "legal-hold-applied", NULL, j->serial, segment,
                               (const LogField[]) { { "key", o->key }, { "reference", j->reference }, {} });
        if (k < 0)
                return object_failed(j, "custody record", strerror(-k));
        j->applied++;
        j->cur++;
        next_object(j);
}

static void on_set(BackendRequest *r, int error, const char *message, void *userdata) {
        LegalHoldJob *j = userdata;
        BackendStatSpec spec = { .key = j->objects[j->cur].key, .object_lock = true };
        int k;

        j->req = NULL;
        if (error < 0)
                return object_failed(j, "PutObjectLegalHold", message ?: strerror(-error));
        k = backend_stat(j->backend, &spec, on_confirmed, j, &j->req);
        if (k < 0)
                object_failed(j, "HEAD after PutObjectLegalHold", strerror(-k));
}

static void next_object(LegalHoldJob *j) {
        int k;

        if (j->cur >= j->n_objects) {
                if (j->failed > 0)
                        log_error("Legal hold on recording %s of camera %s (reference %s): %zu of %zu objects in "
                                  "central storage confirmed held, %zu not: see above.", j->recording, j->serial,
                                  j->reference, j->applied, j->n_objects, j->failed);
                else
                        log_notice("Legal hold on recording %s of camera %s (reference %s): set and confirmed on "
                                   "%zu object(s) %s central storage.", j->recording, j->serial, j->reference,
                                   j->applied, j->listed ? "queued before the hold and now in" : "already in");
                return job_end(j);
        }
        k = j->backend->ops->set_legal_hold(j->backend, j->objects[j->cur].key, on_set, j, &j->req);
        if (k < 0)
                object_failed(j, "PutObjectLegalHold", strerror(-k));
}

static void list_page(LegalHoldJob *j, const char *continuation);

static void on_listed(BackendRequest *r, int error, const BackendListEntry *entries, size_t n, const char *next,
                      const char *message, void *userdata) {
        LegalHoldJob *j = userdata;
        HeldObject *more;

        j->req = NULL;
        if (error < 0) {
                log_error("Legal hold on recording %s of camera %s (reference %s): cannot list what central storage "
                          "holds of it: %s. The hold stays on the dock and in the custody log only.", j->recording, j->serial, j->reference,
                          message ?: strerror(-error));
                return job_end(j);
        }
        if (j->n_objects + n > LEGAL_HOLD_MAX_KEYS) {
                log_error("Legal hold on recording %s of camera %s: central storage lists more than %d keys for it; "
                          "none was held.", j->recording, j->serial, LEGAL_HOLD_MAX_KEYS);
                return job_end(j);
        }
        more = reallocarray(j->objects, j->n_objects + n, sizeof *more);
        if (!more && n > 0) {
                log_oom();
                return job_end(j);
        }
        j->objects = more;
        for (size_t i = 0; i < n; i++) {
                HeldObject *o = &j->objects[j->n_objects];

                const char *etag = entries[i].etag ? entries[i].etag + (entries[i].etag[0] == '"') : NULL;

                /* Listings send ETags quoted: kept without the quotes. */
                *o = (HeldObject) { .key = strdup(entries[i].key),
                                    .etag = etag ? strndup(etag, strcspn(etag, "\"")) : NULL };
                if (!o->key || (etag && !o->etag)) {
                        log_oom();
                        return job_end(j);
                }
                j->n_objects++;
        }
        if (next)
                return list_page(j, next);
        if (++j->prefix < ELEMENTSOF(j->prefixes))
                return list_page(j, NULL);
        next_object(j);
}

static void list_page(LegalHoldJob *j, const char *continuation) {
        int k = backend_list(j->backend, j->prefixes[j->prefix], continuation, on_listed, j, &j->req);

        if (k < 0)
                on_listed(NULL, k, NULL, 0, NULL, strerror(-k), j);
}

static void on_lock_enabled(BackendRequest *r, int error, const char *message, void *userdata) {
        LegalHoldJob *j = userdata;

        j->req = NULL;
        if (error == -EOPNOTSUPP) {
                stays_local(j, message ?: "the store does not report Object Lock");
                return job_end(j);
        }
        if (error < 0) {
                log_error("Legal hold on recording %s of camera %s (reference %s): cannot ask central storage "
                          "whether it has Object Lock: %s. The hold stays on the dock and in the custody log only.", j->recording, j->serial, j->reference,
                          message ?: strerror(-error));
                return job_end(j);
        }
        if (j->listed)
                return next_object(j);
        list_page(j, NULL);
}

static bool store_can_hold(const Backend *backend) {
        return backend->ops->set_legal_hold && backend->ops->object_lock_enabled && backend->config->s3_object_lock;
}

static LegalHoldJob *job_new(Backend *backend, CustodyLog *custody, const char *serial, const char *recording,
                             const char *reference, LegalHoldJob **list) {
        const DockdConfig *c = backend->config;
        LegalHoldJob *j = calloc(1, sizeof *j);

        if (!j)
                return NULL;
        *j = (LegalHoldJob) { .list = list, .backend = backend, .custody = custody, .serial = strdup(serial),
                              .recording = strdup(recording), .reference = strdup(reference) };
        j->prefixes[0] = object_key_recording_prefix(c->storage_prefix, "evidence", serial, recording);
        j->prefixes[1] = object_key_recording_prefix(c->storage_prefix, "quarantine", serial, recording);
        if (!j->serial || !j->recording || !j->reference || !j->prefixes[0] || !j->prefixes[1]) {
                job_free(j);
                return NULL;
        }
        return j;
}

/* Ask whether the bucket has Object Lock; the answer goes on with the job. */
static int job_begin(LegalHoldJob *j) {
        int k = j->backend->ops->object_lock_enabled(j->backend, on_lock_enabled, j, &j->req);

        if (k < 0) {
                job_free(j);
                return k;
        }
        j->next = *j->list;
        *j->list = j;
        return 0;
}

int legal_hold_start_objects(Backend *backend, CustodyLog *custody, const char *serial, const char *recording,
                             const char *reference, char *const *keys, char *const *etags, size_t n,
                             LegalHoldJob **list) {
        LegalHoldJob *j;

        if (!store_can_hold(backend) || n == 0)
                return 0;
        j = job_new(backend, custody, serial, recording, reference, list);
        if (!j)
                return -ENOMEM;
        j->listed = true;
        j->objects = calloc(n, sizeof *j->objects);
        if (!j->objects) {
                job_free(j);
                return -ENOMEM;
        }
        for (; j->n_objects < n; j->n_objects++) {
                HeldObject *o = &j->objects[j->n_objects];

                *o = (HeldObject) { .key = strdup(keys[j->n_objects]),
                                    .etag = etags[j->n_objects] ? strdup(etags[j->n_objects]) : NULL };
                if (!o->key || (etags[j->n_objects] && !o->etag)) {
                        j->n_objects++;
                        job_free(j);
                        return -ENOMEM;
                }
        }
        return job_begin(j);
}

int legal_hold_start(Backend *backend, CustodyLog *custody, const char *serial, const char *recording,
                     const char *reference, LegalHoldJob **list) {
        const DockdConfig *c = backend->config;
        LegalHoldJob *j = job_new(backend, custody, serial, recording, reference, list);

        if (!j)
                return -ENOMEM;
        if (!backend->ops->set_legal_hold || !backend->ops->object_lock_enabled) {
                stays_local(j, streq(backend->ops->name, "tus")
                                       ? "tus cannot change a finished upload (only uploads made while the "
                                         "recording is held carry legal-hold in their metadata)"
                                       : "the file backend has no legal hold (protect the directory itself)");
                job_free(j);
                return 0;
        }
        if (!c->s3_object_lock) {
                stays_local(j, "[s3] object_lock is not enabled in dockd's configuration");
                job_free(j);
                return 0;
        }
        return job_begin(j);
}
