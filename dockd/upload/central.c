/* SPDX-License-Identifier: Apache-2.0 */
/* central.c: see central.h. */
#include <inttypes.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "central.h"
#include "filehash.h"
#include "fileio.h"
#include "hexdecoct.h"
#include "legal-hold.h"
#include "log.h"
#include "manifest.h"
#include "object-key.h"

struct Central {
        const DockdConfig *config;
        Spool *spool;
        CustodyLog *custody;
        Backend *backend;
        Uploader *uploader;
        central_confirmed_t confirmed;
        void *confirmed_userdata;
        central_held_t held;
        void *held_userdata;
        LegalHoldJob *legal_holds;  /* set after the upload, in flight */
        usec_t custody_refused;    /* CLOCK_MONOTONIC: the store last refused a custody file for good */
        bool key_confirmed;        /* the dock's public key is in central storage (it does not change while we run) */
        bool cert_confirmed;       /* the dock's certificate is, likewise */
        struct SegmentUpload *uploads;   /* segments queued, not yet confirmed */
};

/* After a refusal for good (-EPERM), custody files wait this long before they
 * are queued again: each interval's seal would otherwise be a retry storm. */
#define CUSTODY_PERMANENT_RETRY (10 * 60 * USEC_PER_SEC)

static usec_t monotonic_now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

typedef struct SegmentUpload {
        Central *central;
        char *serial;
        char *recording;
        uint32_t index;
        char *variant;
        char name[128];
        usec_t pulled;             /* CLOCK_REALTIME: when its video was complete */
        bool after_crash;          /* queued at start-up: its confirmation may be recorded already */
        /* Objects stored without the legal hold a preservation request made
         * since they were queued asks for: held once the segment is confirmed. */
        char *late_keys[3], *late_etags[3];
        size_t n_late;
        struct SegmentUpload *prev, *next;
} SegmentUpload;

static void segment_upload_free(void *userdata) {
        SegmentUpload *su = userdata;

        if (su->prev)
                su->prev->next = su->next;
        else if (su->central->uploads == su)
                su->central->uploads = su->next;
        if (su->next)
                su->next->prev = su->prev;
        for (size_t i = 0; i < su->n_late; i++) {
                free(su->late_keys[i]);
                free(su->late_etags[i]);
        }
        free(su->serial);
        free(su->recording);
        free(su->variant);
        free(su);
}

/* Held since it was queued? Then the object stored without a legal hold gets
 * one after the segment is confirmed (what was set at the hold was listed
 * before this object was there). */
static void note_late_hold(SegmentUpload *su, const UploadObjectSpec *o, const char *etag) {
        Central *c = su->central;

        if (o->legal_hold || !c->held || !c->held(su->serial, su->recording, c->held_userdata) ||
            su->n_late >= ELEMENTSOF(su->late_keys))
                return;
        if (etag && *etag == '"')
                etag++;   /* kept without the quotes, as a listing's */
        su->late_keys[su->n_late] = strdup(o->key);
        su->late_etags[su->n_late] = etag ? strndup(etag, strcspn(etag, "\"")) : NULL;
        if (!su->late_keys[su->n_late] || (etag && !su->late_etags[su->n_late])) {
                free(su->late_keys[su->n_late]);
                free(su->late_etags[su->n_late]);
                log_oom();
                return;
        }
        su->n_late++;
}

/* The record says what reconciliation will prove later: the object's key, size
 * and SHA-256, how the backend can find it (the ETag it confirmed, the tus
 * upload URL) and the retention and legal hold it was given. */
static void on_object_confirmed(UploadJob *j, const UploadObjectSpec *o, const BackendConfirmation *conf,
                                void *userdata) {
        SegmentUpload *su = userdata;
        char hex[65], size[24], retain[24];
        LogField fields[9] = {
                { "key", o->key },
                { "sha256", hexmem(o->sha256, 32, hex) },
                { "backend", su->central->backend->ops->name },
                { "size", size },
        };
        size_t n = 4;

        snprintf(size, sizeof size, "%" PRIu64, o->size);
        snprintf(retain, sizeof retain, "%" PRIu64, o->retain_until / USEC_PER_SEC);
        if (conf->etag)
                fields[n++] = (LogField) { "etag", conf->etag };
        if (conf->location)
                fields[n++] = (LogField) { "location", conf->location };
        if (o->retain_until)
                fields[n++] = (LogField) { "retain_until", retain };
        if (o->legal_hold)
                fields[n++] = (LogField) { "legal_hold", "true" };
        (void) custody_log_record(su->central->custody, CUSTODY_UPLOADED, NULL, su->serial, su->name, fields);
        note_late_hold(su, o, conf->etag);
}

void central_unconfirmed(Central *c, size_t *ret_n, usec_t *ret_oldest) {
        size_t n = 0;
        usec_t oldest = 0;

        for (SegmentUpload *su = c->uploads; su; su = su->next, n++)
                if (oldest == 0 || su->pulled < oldest)
                        oldest = su->pulled;
        *ret_n = n;
        *ret_oldest = oldest;
}

static void segment_confirmed(Central *c, SegmentUpload *su) {
        SegmentId id = { .serial = su->serial, .recording = su->recording, .index = su->index, .variant = su->variant };
        SegmentState st;
        int r;

        r = spool_state_load(c->spool, &id, &st);
        if (r < 0) {
                log_error_errno(r, "%s: segment state unreadable after upload: %m", su->name);
                return;
        }
        if (st.stage < SEGMENT_CONFIRMED) {
                /* A crash between the custody record and the state leaves the
                 * record in the log (made durable when the log was opened): the
                 * upload is confirmed again, but recorded once. */
                r = su->after_crash ? custody_log_find(c->custody, CUSTODY_CONFIRMED, su->serial, su->name) : 0;
                if (r == 0)
                        r = custody_log_record(c->custody, CUSTODY_CONFIRMED, NULL, su->serial, su->name,
                                               (const LogField[]) { { "area", st.quarantined ? "quarantine" : "evidence" }, {} });
                if (r >= 0) {
                        st.stage = SEGMENT_CONFIRMED;
                        r = spool_state_save(c->spool, &id, &st);
                }
                if (r < 0) {
                        log_error_errno(r, "%s: cannot record the confirmation: %m", su->name);
                        segment_state_done(&st);
                        return;
                }
        }
        segment_state_done(&st);
        log_full_errno_ctx(LOG_INFO, 0, (&(LogContext) { .serial = su->serial, .segment = su->name }),
                           "Central storage confirmed the segment.");
        /* Safe in central storage: the local copy is no longer needed (a full
         * spool then lets paused pulls look again). */
        if (c->config->spool_keep_confirmed == 0)
                (void) spool_remove_data(c->spool, &id);
        if (su->n_late > 0) {
                const char *reference = c->held(su->serial, su->recording, c->held_userdata);

                r = reference ? legal_hold_start_objects(c->backend, c->custody, su->serial, su->recording, reference,
                                                         su->late_keys, su->late_etags, su->n_late, &c->legal_holds)
                              : 0;   /* released meanwhile */
                if (r < 0)
                        log_full_errno_ctx(LOG_ERR, r, (&(LogContext) { .serial = su->serial, .segment = su->name }),
                                           "Cannot start the legal hold in central storage on the segment: %m");
        }
        if (c->confirmed)
                c->confirmed(&id, c->confirmed_userdata);
}

static void on_segment_uploaded(UploadJob *j, int error, const char *message, void *userdata) {
        SegmentUpload *su = userdata;

        if (error >= 0)
                segment_confirmed(su->central, su);
        else
                log_full_errno_ctx(LOG_ERR, error, (&(LogContext) { .serial = su->serial, .segment = su->name }),
                                   "Segment cannot be uploaded: %s. It stays on the camera.", strna(message));
}

/* Three strings per object kind; a cleanup attribute on an array would only free
 * its first element. */
typedef struct ObjectStrings {
        char *path[3], *key[3], *state[3];
} ObjectStrings;

static void object_strings_done(ObjectStrings *o) {
        for (size_t i = 0; i < 3; i++) {
                free(o->path[i]);
                free(o->key[i]);
                free(o->state[i]);
        }
}

static int enqueue_segment(Central *c, const SegmentId *id, const SegmentState *st, bool after_crash) {
        static const char *const exts[] = { "mp4", "man", "p7s" };
        static const char *const types[] = { "video/mp4", "text/plain; charset=utf-8", "application/pkcs7-signature" };
        _cleanup_(object_strings_done) ObjectStrings os = {};
        char **paths = os.path, **keys = os.key, **states = os.state;
        UploadJobSpec spec = {};
        SegmentUpload *su;
        usec_t pulled = 0;
        char name[128];
        int r;

        if (st->chain_owed)
                return 0;   /* held until its link is checked: then it knows its area */
        snprintf(name, sizeof name, "%s/%s/%06" PRIu32 "%s", id->serial, id->recording, id->index, strempty(id->variant));
        if (uploader_has(c->uploader, name))
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                UploadObjectSpec *o = &spec.objects[spec.n_objects];
                struct stat sb;
                char ext[16];

                paths[i] = spool_path(c->spool, id, exts[i]);
                snprintf(ext, sizeof ext, "%s.upload", exts[i]);
                states[i] = spool_path(c->spool, id, ext);
                keys[i] = object_key_segment(c->config->storage_prefix, st->quarantined ? "quarantine" : "evidence",
                                             id->serial, id->recording, id->index, id->variant, exts[i]);
                if (!paths[i] || !states[i] || !keys[i])
                        return -ENOMEM;
                if (stat(paths[i], &sb) < 0) {
                        if (errno == ENOENT && st->quarantined)
                                continue;   /* the camera never had it; the quarantine says so */
                        return -errno;
                }
                *o = (UploadObjectSpec) {
                        .key = keys[i],
                        .path = paths[i],
                        .content_type = types[i],
                        .state_path = states[i],
                        .retain_until = st->retain_until * USEC_PER_SEC,
                        .legal_hold = st->legal_hold ||
                                      (c->held && c->held(id->serial, id->recording, c->held_userdata)),
                };
                if (i == 0) {
                        pulled = (usec_t) sb.st_mtim.tv_sec * USEC_PER_SEC + (usec_t) sb.st_mtim.tv_nsec / 1000;
                        o->size = st->size;
                        memcpy(o->sha256, st->sha256, 32);
                        if ((uint64_t) sb.st_size != st->size)
                                return -EBADMSG;   /* the spool copy is not what we hashed */
                } else {
                        r = sha256_file(paths[i], &o->size, o->sha256);
                        if (r < 0)
                                return r;
                }
                spec.n_objects++;
        }
        if (spec.n_objects == 0)
                return -ENOENT;

        su = calloc(1, sizeof *su);
        if (!su)
                return -ENOMEM;
        su->central = c;
        su->serial = strdup(id->serial);
        su->recording = strdup(id->recording);
        su->index = id->index;
        su->variant = id->variant ? strdup(id->variant) : NULL;
        segment_name(id, su->name, sizeof su->name);
        if (!su->serial || !su->recording || (id->variant && !su->variant)) {
                segment_upload_free(su);
                return -ENOMEM;
        }
        spec.name = name;
        spec.group = id->serial;
        spec.priority = st->quarantined ? UPLOAD_PRIORITY_INTEGRITY
                        : st->evidentiary ? UPLOAD_PRIORITY_EVIDENTIARY : UPLOAD_PRIORITY_NORMAL;
        spec.object_done = on_object_confirmed;
        spec.done = on_segment_uploaded;
        spec.userdata = su;
        spec.destroy = segment_upload_free;
        su->pulled = pulled;
        su->after_crash = after_crash;
        su->next = c->uploads;
        if (c->uploads)
                c->uploads->prev = su;
        c->uploads = su;
        return uploader_add(c->uploader, &spec, NULL);
}

int central_enqueue_segment(Central *c, const SegmentId *id, const SegmentState *st) {
        return enqueue_segment(c, id, st, false);
}

/* ---- reading manifests back ---- */

struct CentralSearch {
        Central *central;
        char *serial, *recording;
        uint32_t index;
        uint8_t sha256[32];
        char variant[SEGMENT_VARIANT_MAX];
        unsigned next;              /* the next key to try */
        bool other;                 /* a key held another manifest */
        BackendRequest *get;        /* in flight; NULL when get called back at once */
        central_found_t cb;
        void *userdata;
};

CentralSearch *central_search_cancel(CentralSearch *ms) {
        if (!ms)
                return NULL;
        backend_request_cancel(ms->central->backend, ms->get);
        free(ms->serial);
        free(ms->recording);
        free(ms);
        return NULL;
}

static void search_finish(CentralSearch *ms, int result) {
        central_found_t cb = ms->cb;
        void *userdata = ms->userdata;

        ms->get = NULL;   /* it has ended */
        central_search_cancel(ms);
        cb(result, userdata);
}

static void search_next(CentralSearch *ms);

static void on_manifest_read(BackendRequest *r, int error, const uint8_t *data, size_t size, void *userdata) {
        CentralSearch *ms = userdata;
        uint8_t sha[32];

        ms->get = NULL;
        if (error == -ENOENT || error == -EFBIG)
                return search_next(ms);
        if (error < 0)
                return search_finish(ms, error);
        SHA256(data, size, sha);
        if (memcmp(sha, ms->sha256, 32) == 0)
                return search_finish(ms, 1);
        ms->other = true;
        search_next(ms);
}

/* Evidence, then quarantine; the plain key, then the variant the hash names. */
static void search_next(CentralSearch *ms) {
        static const char *const areas[] = { "evidence", "quarantine" };
        _cleanup_free_ char *key = NULL;
        unsigned i = ms->next++;
        int r;

        if (i >= 2 * ELEMENTSOF(areas))
                return search_finish(ms, ms->other ? 0 : -ENOENT);
        key = object_key_segment(ms->central->config->storage_prefix, areas[i / 2], ms->serial, ms->recording,
                                 ms->index, i % 2 ? ms->variant : NULL, "man");
        if (!key)
                return search_finish(ms, -ENOMEM);
        r = backend_get(ms->central->backend, key, MANIFEST_MAX_SIZE, on_manifest_read, ms, &ms->get);
        if (r < 0)
                search_finish(ms, r);
}

int central_find_manifest(Central *c, const char *serial, const char *recording, uint32_t index,
                          const uint8_t sha256[32], central_found_t cb, void *userdata, CentralSearch **ret) {
        CentralSearch *ms;

        if (!c->backend->ops->get)
                return -EOPNOTSUPP;
        ms = calloc(1, sizeof *ms);
        if (!ms)
                return -ENOMEM;
        *ms = (CentralSearch) { .central = c, .index = index, .cb = cb, .userdata = userdata };
        ms->serial = strdup(serial);
        ms->recording = strdup(recording);
        if (!ms->serial || !ms->recording) {
                central_search_cancel(ms);
                return -ENOMEM;
        }
        memcpy(ms->sha256, sha256, 32);
        segment_variant(sha256, ms->variant);
        *ret = ms;
        search_next(ms);
        return 0;
}

/* ---- custody log uploads ---- */

typedef struct CustodyUpload {
        Central *central;
        char *name;                /* "custody/FILE", for the log */
        char *path;                /* a sealed file's, to mark it uploaded */
        bool *confirmed;           /* a dock file's flag, set once it is in storage */
} CustodyUpload;

static void custody_upload_free(void *userdata) {
        CustodyUpload *cu = userdata;

        free(cu->name);
        free(cu->path);
        free(cu);
}

static void on_custody_uploaded(UploadJob *j, int error, const char *message, void *userdata) {
        CustodyUpload *cu = userdata;

        if (error >= 0 && cu->path)
                (void) custody_log_mark_uploaded(cu->central->custody, cu->path);
        /* A dock file under its conflict key is stored too: the alert said where,
         * once; queuing it again every round would repeat the alert, not fix it. */
        if ((error >= 0 || error == -EEXIST) && cu->confirmed)
                *cu->confirmed = true;
        if (error == -EPERM)
                cu->central->custody_refused = monotonic_now();
        if (error < 0)
                log_warning("%s cannot be uploaded: %s.", cu->name, strna(message));
}

/* The custody log proves how every piece of evidence was handled: it is kept
 * (Object Lock) as long as the longest-kept evidence, from now. */
static usec_t custody_retain_until(const DockdConfig *c) {
        usec_t retention = c->retention_default;

        for (size_t i = 0; i < c->n_categories; i++)
                retention = MAX(retention, c->categories[i].retention);
        return (usec_t) time(NULL) * USEC_PER_SEC + retention;
}

/* A sealed file (marked uploaded once confirmed), or a dock file whose flag
 * *confirmed is set once it is in storage. */
static int enqueue_custody_file(Central *c, const char *path, bool *confirmed) {
        _cleanup_free_ char *key = NULL, *name = NULL;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        UploadJobSpec spec = { .group = "custody", .priority = UPLOAD_PRIORITY_INTEGRITY };
        CustodyUpload *cu;
        int r;

        key = object_key_dock_file(c->config->storage_prefix, "custody", c->config->dock_name, base);
        if (!key || asprintf(&name, "custody/%s", base) < 0)
                return -ENOMEM;
        if (uploader_has(c->uploader, name))
                return 0;
        spec.name = name;
        spec.objects[0] = (UploadObjectSpec) {
                .key = key,
                .path = path,
                .content_type = "application/x-ndjson",
                .retain_until = custody_retain_until(c->config),
        };
        r = sha256_file(path, &spec.objects[0].size, spec.objects[0].sha256);
        if (r < 0)
                return r;
        spec.n_objects = 1;
        cu = calloc(1, sizeof *cu);
        if (!cu)
                return -ENOMEM;
        cu->central = c;
        cu->name = TAKE_PTR(name);
        cu->path = confirmed ? NULL : strdup(path);
        cu->confirmed = confirmed;
        spec.name = cu->name;
        spec.done = on_custody_uploaded;
        spec.userdata = cu;
        spec.destroy = custody_upload_free;
        return uploader_add(c->uploader, &spec, NULL);
}

/* Seal the current custody file and queue every sealed file not yet uploaded,
 * and the dock's public key (which a verifier needs). */
int central_upload_custody(Central *c) {
        _cleanup_free_ char *sealed = NULL;
        char **paths = NULL;
        int r;

        r = custody_log_seal(c->custody, &sealed);
        if (r < 0)
                return log_warning_errno(r, "Cannot seal the custody log: %m");
        if (c->custody_refused > 0 && monotonic_now() - c->custody_refused < CUSTODY_PERMANENT_RETRY)
                return 0;   /* sealed; queued again once the refusal is older */
        r = custody_log_list_sealed(c->custody, &paths);
        if (r < 0)
                return log_warning_errno(r, "Cannot list sealed custody files: %m");
        for (char **p = paths; p && *p; p++) {
                r = enqueue_custody_file(c, *p, NULL);
                if (r < 0)
                        log_warning_errno(r, "Cannot queue custody file %s: %m", *p);
        }
        strv_free(paths);
        /* Each until confirmed once per run: queued again at every round, its
         * confirmation (the same bytes are there already) took a store that
         * accepts no writes for a healthy one. */
        r = c->key_confirmed ? 0 : enqueue_custody_file(c, custody_log_public_key_path(c->custody), &c->key_confirmed);
        if (r < 0)
                log_warning_errno(r, "Cannot queue the dock's public key: %m");
        r = c->cert_confirmed ? 0 :
                enqueue_custody_file(c, custody_log_certificate_path(c->custody), &c->cert_confirmed);
        if (r < 0)
                log_warning_errno(r, "Cannot queue the dock's certificate: %m");
        return 0;
}

static int requeue_one(const SegmentId *id, const SegmentState *st, void *userdata) {
        Central *c = userdata;
        int r;

        if (st->stage == SEGMENT_CONFIRMED) {
                /* "confirmed" lets the camera delete the segment; a crash may have
                 * left this state renamed into place but not yet durable. */
                _cleanup_free_ char *p = spool_path(c->spool, id, "state");

                r = p ? fsync_directory_of(p) : -ENOMEM;
                if (r < 0)
                        log_warning_errno(r, "%s/%s/%06" PRIu32 ": cannot sync its state: %m", id->serial,
                                          id->recording, id->index);
        }
        if (st->stage >= SEGMENT_CONFIRMED && c->config->spool_keep_confirmed == 0) {
                /* Its data went when central storage confirmed it, but an unlink
                 * is durable only once its directory is synced: after a power
                 * cut the files can be back, and nothing else would remove them. */
                (void) spool_remove_data(c->spool, id);
                return 0;
        }
        if (st->stage != SEGMENT_PULLED)
                return 0;
        r = enqueue_segment(c, id, st, true);
        if (r < 0)
                log_error_errno(r, "%s/%s/%06" PRIu32 ": cannot queue for upload: %m", id->serial, id->recording,
                                id->index);
        return 0;
}

int central_requeue_spool(Central *c) {
        return spool_foreach(c->spool, requeue_one, c);
}

/* ---- object ---- */

int central_new(sd_event *event, const DockdConfig *config, Spool *spool, CustodyLog *custody, Central **ret) {
        _cleanup_(central_freep) Central *c = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        c->config = config;
        c->spool = spool;
        c->custody = custody;
        r = backend_new(event, config, &c->backend, &error);
        if (r < 0)
                return log_error_errno(r, "Cannot set up central storage: %s", strna(error));
        r = uploader_new(event, config, c->backend, &c->uploader);
        if (r < 0)
                return log_error_errno(r, "Cannot set up uploads: %m");
        *ret = TAKE_PTR(c);
        return 0;
}

Central *central_free(Central *c) {
        if (!c)
                return NULL;
        /* The uploader first: it cancels the puts that run on the backend. */
        c->uploader = uploader_free(c->uploader);
        legal_hold_jobs_free(&c->legal_holds);
        c->backend = backend_free(c->backend);
        free(c);
        return NULL;
}

void central_set_confirmed_handler(Central *c, central_confirmed_t cb, void *userdata) {
        c->confirmed = cb;
        c->confirmed_userdata = userdata;
}

void central_set_held_check(Central *c, central_held_t cb, void *userdata) {
        c->held = cb;
        c->held_userdata = userdata;
}

int central_legal_hold(Central *c, const char *serial, const char *recording, const char *reference) {
        return legal_hold_start(c->backend, c->custody, serial, recording, reference, &c->legal_holds);
}

Uploader *central_uploader(Central *c) {
        return c->uploader;
}

Backend *central_backend(Central *c) {
        return c->backend;
}
