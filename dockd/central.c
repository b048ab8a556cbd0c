/* SPDX-License-Identifier: Apache-2.0 */
/* central.c: the hand-off from the spool to central storage: queueing a pulled
 * segment's three objects (evidence/ or quarantine/), recording custody as central
 * storage confirms each, marking the segment confirmed, and telling the bay that
 * holds its camera, which may then delete it. Also the custody log's own uploads. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "manifest.h"

typedef struct SegmentUpload {
        Manager *manager;
        char *serial;
        char *recording;
        uint32_t index;
        char name[128];
} SegmentUpload;

static void segment_upload_free(void *userdata) {
        SegmentUpload *su = userdata;

        free(su->serial);
        free(su->recording);
        free(su);
}

char *manager_object_key(Manager *m, const char *area, const SegmentId *id, const char *ext) {
        const char *prefix = m->config->storage_prefix;
        char *k;

        if (asprintf(&k, "%s%s%s/%s/%s/%06" PRIu32 ".%s", prefix, *prefix ? "/" : "", area, id->serial,
                     id->recording, id->index, ext) < 0)
                return NULL;
        return k;
}

static int sha256_file(const char *path, uint64_t *ret_size, uint8_t ret[32]) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r = read_full_file(path, 1 * MiB, &data, &size);

        if (r < 0)
                return r;
        if (!EVP_Digest(data, size, ret, NULL, EVP_sha256(), NULL))
                return -EIO;
        *ret_size = size;
        return 0;
}

static void on_object_confirmed(UploadJob *j, const UploadObjectSpec *o, void *userdata) {
        SegmentUpload *su = userdata;
        char hex[65];

        (void) manager_custody(su->manager, CUSTODY_UPLOADED, NULL, su->serial, su->name,
                               (const LogField[]) {
                                       { "key", o->key },
                                       { "sha256", hex_sha256(o->sha256, hex) },
                                       { "backend", su->manager->backend->ops->name },
                                       {},
                               });
}

static void segment_confirmed(Manager *m, SegmentUpload *su) {
        SegmentId id = { .serial = su->serial, .recording = su->recording, .index = su->index };
        SegmentState st;
        Bay *b;
        int r;

        r = spool_state_load(m->spool, &id, &st);
        if (r < 0) {
                log_error_errno(r, "%s: segment state unreadable after upload: %m", su->name);
                return;
        }
        if (st.stage < SEGMENT_CONFIRMED) {
                r = manager_custody(m, CUSTODY_CONFIRMED, NULL, su->serial, su->name,
                                    (const LogField[]) { { "area", st.quarantined ? "quarantine" : "evidence" }, {} });
                if (r >= 0) {
                        st.stage = SEGMENT_CONFIRMED;
                        r = spool_state_save(m->spool, &id, &st);
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
        /* Safe in central storage: the local copy is no longer needed. */
        if (m->config->spool_keep_confirmed == 0 && spool_remove_data(m->spool, &id) > 0)
                manager_spool_check(m);
        b = manager_bay_with_serial(m, su->serial);
        if (b)
                bay_segment_confirmed(b, &id);
}

static void on_segment_uploaded(UploadJob *j, int error, const char *message, void *userdata) {
        SegmentUpload *su = userdata;

        if (error >= 0)
                segment_confirmed(su->manager, su);
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

int manager_enqueue_segment(Manager *m, const SegmentId *id, const SegmentState *st) {
        static const char *const exts[] = { "mp4", "man", "p7s" };
        static const char *const types[] = { "video/mp4", "text/plain; charset=utf-8", "application/pkcs7-signature" };
        _cleanup_(object_strings_done) ObjectStrings os = {};
        char **paths = os.path, **keys = os.key, **states = os.state;
        UploadJobSpec spec = {};
        SegmentUpload *su;
        char name[128];
        int r;

        snprintf(name, sizeof name, "%s/%s/%06" PRIu32, id->serial, id->recording, id->index);
        if (uploader_has(m->uploader, name))
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                UploadObjectSpec *o = &spec.objects[spec.n_objects];
                struct stat sb;
                char ext[16];

                paths[i] = spool_path(m->spool, id, exts[i]);
                snprintf(ext, sizeof ext, "%s.upload", exts[i]);
                states[i] = spool_path(m->spool, id, ext);
                keys[i] = manager_object_key(m, st->quarantined ? "quarantine" : "evidence", id, exts[i]);
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
                        .legal_hold = st->legal_hold,
                };
                if (i == 0) {
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
        su->manager = m;
        su->serial = strdup(id->serial);
        su->recording = strdup(id->recording);
        su->index = id->index;
        snprintf(su->name, sizeof su->name, "%s/%06" PRIu32, id->recording, id->index);
        if (!su->serial || !su->recording) {
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
        return uploader_add(m->uploader, &spec, NULL);
}

/* ---- custody log uploads ---- */

typedef struct CustodyUpload {
        Manager *manager;
        char *path;
} CustodyUpload;

static void custody_upload_free(void *userdata) {
        CustodyUpload *cu = userdata;

        free(cu->path);
        free(cu);
}

static void on_custody_uploaded(UploadJob *j, int error, const char *message, void *userdata) {
        CustodyUpload *cu = userdata;

        if (error >= 0 && cu->path)
                (void) custody_log_mark_uploaded(cu->manager->custody, cu->path);
        else if (error < 0)
                log_warning("Custody log %s cannot be uploaded: %s.", strna(cu->path), strna(message));
}

static int enqueue_custody_file(Manager *m, const char *path, bool sealed) {
        _cleanup_free_ char *key = NULL, *name = NULL;
        const char *prefix = m->config->storage_prefix;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        UploadJobSpec spec = { .group = "custody", .priority = UPLOAD_PRIORITY_INTEGRITY };
        CustodyUpload *cu;
        int r;

        if (asprintf(&key, "%s%scustody/%s/%s", prefix, *prefix ? "/" : "", m->config->dock_name, base) < 0 ||
            asprintf(&name, "custody/%s", base) < 0)
                return -ENOMEM;
        if (uploader_has(m->uploader, name))
                return 0;
        spec.name = name;
        spec.objects[0] = (UploadObjectSpec) { .key = key, .path = path, .content_type = "application/x-ndjson" };
        r = sha256_file(path, &spec.objects[0].size, spec.objects[0].sha256);
        if (r < 0)
                return r;
        spec.n_objects = 1;
        cu = calloc(1, sizeof *cu);
        if (!cu)
                return -ENOMEM;
        cu->manager = m;
        cu->path = sealed ? strdup(path) : NULL;
        spec.done = on_custody_uploaded;
        spec.userdata = cu;
        spec.destroy = custody_upload_free;
        return uploader_add(m->uploader, &spec, NULL);
}

/* Seal the current custody file and queue every sealed file not yet uploaded,
 * and the dock's public key (which a verifier needs). */
int manager_upload_custody(Manager *m) {
        _cleanup_free_ char *sealed = NULL;
        char **paths = NULL;
        int r;

        r = custody_log_seal(m->custody, &sealed);
        if (r < 0)
                return log_warning_errno(r, "Cannot seal the custody log: %m");
        r = custody_log_list_sealed(m->custody, &paths);
        if (r < 0)
                return log_warning_errno(r, "Cannot list sealed custody files: %m");
        for (char **p = paths; p && *p; p++) {
                r = enqueue_custody_file(m, *p, true);
                if (r < 0)
                        log_warning_errno(r, "Cannot queue custody file %s: %m", *p);
        }
        strv_free(paths);
        r = enqueue_custody_file(m, custody_log_public_key_path(m->custody), false);
        if (r < 0)
                log_warning_errno(r, "Cannot queue the dock's public key: %m");
        return 0;
}

static int requeue_one(const SegmentId *id, const SegmentState *st, void *userdata) {
        Manager *m = userdata;
        int r;

        if (st->stage == SEGMENT_CONFIRMED) {
                /* "confirmed" lets the camera delete the segment; a crash may have
                 * left this state renamed into place but not yet durable. */
                _cleanup_free_ char *p = spool_path(m->spool, id, "state");

                r = p ? fsync_directory_of(p) : -ENOMEM;
                if (r < 0)
                        log_warning_errno(r, "%s/%s/%06" PRIu32 ": cannot sync its state: %m", id->serial,
                                          id->recording, id->index);
        }
        if (st->stage >= SEGMENT_CONFIRMED && m->config->spool_keep_confirmed == 0) {
                /* Its data went when central storage confirmed it, but an unlink
                 * is durable only once its directory is synced: after a power
                 * cut the files can be back, and nothing else would remove them. */
                (void) spool_remove_data(m->spool, id);
                return 0;
        }
        if (st->stage != SEGMENT_PULLED)
                return 0;
        r = manager_enqueue_segment(m, id, st);
        if (r < 0)
                log_error_errno(r, "%s/%s/%06" PRIu32 ": cannot queue for upload: %m", id->serial, id->recording,
                                id->index);
        return 0;
}

/* After a restart: everything pulled but not confirmed goes back in the queue;
 * the data of confirmed segments leaves the spool. */
int manager_requeue_spool(Manager *m) {
        return spool_foreach(m->spool, requeue_one, m);
}
