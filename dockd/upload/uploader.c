/* SPDX-License-Identifier: Apache-2.0 */
/* uploader.c: see uploader.h. The queue is a plain list: a dock holds a few
 * hundred segments at most, and choosing the next job is a linear scan.
 * Concurrency is counted in slots (backend.h): a running job holds one, and its
 * put may ask for more (S3 parts); every free slot goes to whichever waiting job
 * or running put comes first by the same rule (priority, then another camera
 * than the last served, then age). */
#include "backoff.h"
#include "event-priority.h"
#include "hexdecoct.h"
#include "log.h"
#include "message-ids.h"
#include "uploader.h"

struct UploadJob {
        Uploader *uploader;
        char *name;
        char *group;
        int priority;
        UploadObjectSpec objects[UPLOAD_MAX_OBJECTS];
        size_t n_objects;
        size_t next;               /* object being put */
        upload_object_done_t object_done;
        upload_job_done_t done;
        void *userdata;
        void (*destroy)(void *userdata);
        BackendPut *put;
        bool running;
        unsigned slots_wanted;     /* more slots its put could use now */
        unsigned slots_extra;      /* slots it holds beyond its first */
        unsigned attempts;
        bool conflict;             /* an object went to its conflict key */
        usec_t not_before;         /* CLOCK_MONOTONIC */
        uint64_t seq;              /* FIFO order */
        UploadJob *next_job;
};

struct Uploader {
        sd_event *event;
        const DockdConfig *config;
        Backend *backend;
        UploadJob *jobs;
        size_t n_running;          /* jobs */
        size_t n_slots;            /* slots in use: one per running job, plus extras */
        uint64_t seq;
        char *last_group;
        sd_event_source *timer;
        sd_event_source *defer;
        uint64_t bytes_confirmed;
        uint64_t failures[_UPLOAD_FAILURE_MAX];
        bool failing;
        char *last_error;
        usec_t failing_since;
        usec_t last_alert;
        uploader_changed_t changed;
        void *changed_userdata;
};

static void object_spec_free(UploadObjectSpec *o) {
        free((char *) o->key);
        free((char *) o->path);
        free((char *) o->content_type);
        free((char *) o->state_path);
}

static int object_spec_copy(UploadObjectSpec *dst, const UploadObjectSpec *src) {
        *dst = *src;
        dst->key = strdup(src->key);
        dst->path = strdup(src->path);
        dst->content_type = src->content_type ? strdup(src->content_type) : NULL;
        dst->state_path = src->state_path ? strdup(src->state_path) : NULL;
        if (!dst->key || !dst->path || (src->content_type && !dst->content_type) ||
            (src->state_path && !dst->state_path))
                return -ENOMEM;
        return 0;
}

static void job_free(UploadJob *j) {
        if (j->destroy)
                j->destroy(j->userdata);
        for (size_t i = 0; i < j->n_objects; i++)
                object_spec_free(&j->objects[i]);
        free(j->name);
        free(j->group);
        free(j);
}

static void changed(Uploader *u) {
        if (u->changed)
                u->changed(u->changed_userdata);
}

void uploader_set_changed_handler(Uploader *u, uploader_changed_t cb, void *userdata) {
        u->changed = cb;
        u->changed_userdata = userdata;
}

static void job_unlink(Uploader *u, UploadJob *j) {
        for (UploadJob **p = &u->jobs; *p; p = &(*p)->next_job)
                if (*p == j) {
                        *p = j->next_job;
                        changed(u);
                        return;
                }
}

static const char *const failure_names[_UPLOAD_FAILURE_MAX] = {
        [UPLOAD_FAILURE_CONNECT] = "connect", [UPLOAD_FAILURE_TIMEOUT] = "timeout", [UPLOAD_FAILURE_TLS] = "tls",
        [UPLOAD_FAILURE_AUTH] = "auth", [UPLOAD_FAILURE_SERVER] = "server", [UPLOAD_FAILURE_MISMATCH] = "mismatch",
        [UPLOAD_FAILURE_PROTOCOL] = "protocol", [UPLOAD_FAILURE_LOCAL] = "local", [UPLOAD_FAILURE_OTHER] = "other",
};

const char *upload_failure_to_string(UploadFailure f) {
        return f < _UPLOAD_FAILURE_MAX ? failure_names[f] : NULL;
}

/* From the backends' errors (backend-ops.h) and http.c's mapping of libcurl's. */
UploadFailure upload_failure_classify(int error, const char *message) {
        switch (error) {
        case -ECONNREFUSED: case -ECONNRESET: case -EHOSTUNREACH: case -ENETUNREACH: case -ECONNABORTED:
                return UPLOAD_FAILURE_CONNECT;
        case -ETIMEDOUT:
                return UPLOAD_FAILURE_TIMEOUT;
        case -EACCES:
                return UPLOAD_FAILURE_AUTH;
        case -EBUSY: case -EREMOTEIO:
                return UPLOAD_FAILURE_SERVER;
        case -EIO: case -EEXIST:
                return UPLOAD_FAILURE_MISMATCH;
        case -EPERM:   /* a 4xx no retry changes (backend-ops.h) */
                return UPLOAD_FAILURE_PROTOCOL;
        case -EPROTO:
                return message && startswith(message, "TLS: ") ? UPLOAD_FAILURE_TLS : UPLOAD_FAILURE_PROTOCOL;
        case -ENOENT: case -ENODATA: case -ENOSPC:
                return UPLOAD_FAILURE_LOCAL;
        default:
                return UPLOAD_FAILURE_OTHER;
        }
}

static void schedule(Uploader *u) {
        (void) sd_event_source_set_enabled(u->defer, SD_EVENT_ONESHOT);
}

size_t uploader_retry_now(Uploader *u) {
        size_t n = 0;

        for (UploadJob *j = u->jobs; j; j = j->next_job)
                if (!j->running && j->not_before > 0) {
                        j->not_before = 0;
                        n++;
                }
        schedule(u);
        return n;
}

static void storage_state(Uploader *u, int error, const char *message) {
        usec_t now;

        (void) sd_event_now(u->event, CLOCK_MONOTONIC, &now);
        if (error >= 0) {
                if (u->failing) {
                        log_notice("Central storage accepts uploads again.");
                        u->failing = false;
                        changed(u);
                }
                return;
        }
        free(u->last_error);
        u->last_error = strdup(message ?: strerror(-error));
        if (!u->failing) {
                u->failing = true;
                u->failing_since = now;
                changed(u);
        }
        /* An alert when it starts failing, then at most every 10 minutes. */
        if (u->last_alert == 0 || now - u->last_alert >= 600 * USEC_PER_SEC ||
            now - u->failing_since < USEC_PER_SEC) {
                u->last_alert = now;
                log_full_errno_ctx(LOG_WARNING, error,
                                   (&(LogContext) {
                                           .message_id = DOCKD_MESSAGE_STORAGE_FAILING,
                                           .fields = (const LogField[]) { { "DOCKD_REASON", u->last_error }, {} },
                                   }),
                                   "Central storage is failing: %s. Retrying with backoff; nothing is deleted "
                                   "from cameras meanwhile.", strna(u->last_error));
        }
}

static void job_start(Uploader *u, UploadJob *j);

/* The put is over: it gives back every slot beyond the job's own. */
static void job_drop_extra_slots(Uploader *u, UploadJob *j) {
        u->n_slots -= j->slots_extra;
        j->slots_extra = 0;
        j->slots_wanted = 0;
}

static void job_stop_running(Uploader *u, UploadJob *j) {
        job_drop_extra_slots(u, j);
        u->n_running--;
        u->n_slots--;
        j->running = false;
}

char *upload_conflict_key(const char *key, const uint8_t sha256[32]) {
        char hex[65], *k;

        if (asprintf(&k, "%s.conflict-%s", key, hexmem(sha256, 32, hex)) < 0)
                return NULL;
        return k;
}

/* The object's key holds other bytes: they stay, an integrity alert says so,
 * and ours go to the conflict key. Returns false when that is not possible
 * (the conflict key is taken by other bytes too, or no memory). */
static bool job_divert(UploadJob *j, const char *message) {
        UploadObjectSpec *o = &j->objects[j->next];
        _cleanup_free_ char *ck = NULL;
        char hex[65];

        if (endswith(o->key, hexmem(o->sha256, 32, hex)))
                return false;   /* this is the conflict key already */
        ck = upload_conflict_key(o->key, o->sha256);
        if (!ck)
                return false;
        log_full_errno_ctx(LOG_CRIT, 0,
                           (&(LogContext) {
                                   .message_id = DOCKD_MESSAGE_INTEGRITY_ALERT,
                                   .fields = (const LogField[]) {
                                           { "DOCKD_REASON", strna(message) },
                                           { "DOCKD_OBJECT_KEY", o->key },
                                           {},
                                   },
                           }),
                           "Integrity alert: central storage already holds other bytes under %s (%s). They are "
                           "kept; %s is stored as %s instead.",
                           o->key, strna(message), j->name, ck);
        free((char *) o->key);
        o->key = TAKE_PTR(ck);
        /* Its resume state belongs to the key given up. */
        if (o->state_path)
                (void) unlink(o->state_path);
        j->conflict = true;
        return true;
}

static void on_put_done(BackendPut *put, int error, const char *message, void *userdata) {
        UploadJob *j = userdata;
        Uploader *u = j->uploader;
        usec_t now;

        j->put = NULL;
        job_drop_extra_slots(u, j);
        if (error == -EEXIST && job_divert(j, message)) {
                job_start(u, j);
                schedule(u);
                return;
        }
        if (error >= 0) {
                storage_state(u, 0, NULL);
                u->bytes_confirmed += j->objects[j->next].size;
                if (j->object_done) {
                        BackendConfirmation conf = {};

                        if (put && u->backend->ops->confirmation)
                                u->backend->ops->confirmation(put, &conf);
                        j->object_done(j, &j->objects[j->next], &conf, j->userdata);
                }
                j->next++;
                j->attempts = 0;
                if (j->next < j->n_objects) {
                        job_start(u, j);
                        schedule(u);
                        return;
                }
                job_stop_running(u, j);
                job_unlink(u, j);
                if (j->conflict)
                        j->done(j, -EEXIST, "central storage holds other bytes under its key", j->userdata);
                else
                        j->done(j, 0, NULL, j->userdata);
                job_free(j);
                schedule(u);
                return;
        }

        u->failures[upload_failure_classify(error, message)]++;
        job_stop_running(u, j);
        if (error == -ENOENT) {
                /* The spool copy is gone: retrying cannot help. */
                log_error("Upload of %s abandoned: %s.", j->name, message ?: strerror(-error));
                job_unlink(u, j);
                j->done(j, error, message, j->userdata);
                job_free(j);
                schedule(u);
                return;
        }
        if (error == -EPERM) {
                /* The store refuses it for good: a retry storm would change nothing. */
                storage_state(u, error, message);
                log_error("Upload of %s given up: central storage refuses it for good: %s. It stays on the "
                          "camera; it is tried again when the camera docks again or dockd restarts.",
                          j->name, strna(message));
                job_unlink(u, j);
                j->done(j, error, message, j->userdata);
                job_free(j);
                schedule(u);
                return;
        }
        if (error == -EIO)
                /* Not a network hiccup: the store answered, but not with our bytes. */
                log_full_errno_ctx(LOG_ERR, error,
                                   (&(LogContext) {
                                           .message_id = DOCKD_MESSAGE_STORAGE_FAILING,
                                           .fields = (const LogField[]) { { "DOCKD_REASON", message ?: "integrity" }, {} },
                                   }),
                                   "Central storage does not hold exactly the bytes of %s: %s. Not confirmed; "
                                   "it is sent again and stays on the camera meanwhile.", j->name, strna(message));
        storage_state(u, error, message);
        j->attempts++;
        (void) sd_event_now(u->event, CLOCK_MONOTONIC, &now);
        j->not_before = now + backoff_delay(u->config->storage_retry_initial, u->config->storage_retry_max,
                                           j->attempts);
        log_debug("Upload of %s failed (attempt %u): %s; retrying in %.1fs.", j->name, j->attempts,
                  message ?: strerror(-error), (double) (j->not_before - now) / USEC_PER_SEC);
        schedule(u);
}

static void on_want_slots(BackendPut *put, unsigned n, void *userdata) {
        UploadJob *j = userdata;

        j->slots_wanted = n;
        if (n > 0)
                schedule(j->uploader);
}

static void on_release_slot(BackendPut *put, void *userdata) {
        UploadJob *j = userdata;
        Uploader *u = j->uploader;

        if (j->slots_extra == 0)
                return;
        j->slots_extra--;
        u->n_slots--;
        schedule(u);
}

static void job_start(Uploader *u, UploadJob *j) {
        const UploadObjectSpec *o = &j->objects[j->next];
        BackendObject bo = {
                .key = o->key,
                .path = o->path,
                .size = o->size,
                .content_type = o->content_type,
                .retain_until = o->retain_until,
                .legal_hold = o->legal_hold,
                .state_path = o->state_path,
                .want_slots = on_want_slots,
                .release_slot = on_release_slot,
        };
        int r;

        memcpy(bo.sha256, o->sha256, 32);
        r = backend_put(u->backend, &bo, on_put_done, j, &j->put);
        if (r < 0) {
                j->put = NULL;
                on_put_done(NULL, r, "cannot start the upload", j);
        }
}

/* Who gets the next slot: a job waiting to start, or a running put that could
 * use one more. Highest priority first; within it, a different camera than the
 * last served; within a camera, the oldest job. */
static UploadJob *pick(Uploader *u, usec_t now, usec_t *ret_next_wakeup) {
        UploadJob *best = NULL;
        bool best_other_group = false;

        *ret_next_wakeup = USEC_INFINITY;
        for (UploadJob *j = u->jobs; j; j = j->next_job) {
                bool other_group;

                if (j->running && (!j->put || j->slots_wanted == 0 || !u->backend->ops->grant_slot))
                        continue;
                if (!j->running && j->not_before > now) {
                        *ret_next_wakeup = MIN(*ret_next_wakeup, j->not_before);
                        continue;
                }
                other_group = !streq_ptr(j->group, u->last_group);
                if (!best || j->priority > best->priority ||
                    (j->priority == best->priority && other_group && !best_other_group) ||
                    (j->priority == best->priority && other_group == best_other_group && j->seq < best->seq)) {
                        best = j;
                        best_other_group = other_group;
                }
        }
        return best;
}

static int on_schedule(sd_event_source *s, void *userdata) {
        Uploader *u = userdata;
        usec_t now, wake = USEC_INFINITY;

        (void) sd_event_now(u->event, CLOCK_MONOTONIC, &now);
        while (u->n_slots < u->config->storage_concurrency) {
                UploadJob *j = pick(u, now, &wake);
                if (!j)
                        break;
                free(u->last_group);
                u->last_group = strdup(j->group);
                u->n_slots++;
                if (j->running) {
                        j->slots_wanted--;
                        j->slots_extra++;
                        u->backend->ops->grant_slot(j->put);
                        continue;
                }
                u->n_running++;
                j->running = true;
                job_start(u, j);
        }
        if (wake != USEC_INFINITY) {
                (void) sd_event_source_set_time(u->timer, wake);
                (void) sd_event_source_set_enabled(u->timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return on_schedule(NULL, userdata);
}

int uploader_new(sd_event *event, const DockdConfig *config, Backend *backend, Uploader **ret) {
        Uploader *u;
        int r;

        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->event = sd_event_ref(event);
        u->config = config;
        u->backend = backend;
        r = sd_event_add_defer(event, &u->defer, on_schedule, u);
        if (r >= 0)
                r = sd_event_add_time(event, &u->timer, CLOCK_MONOTONIC, 0, 0, on_timer, u);
        if (r >= 0)
                r = sd_event_source_set_priority(u->defer, EVENT_PRIORITY_UPLINK);
        if (r >= 0)
                r = sd_event_source_set_priority(u->timer, EVENT_PRIORITY_UPLINK);
        if (r < 0) {
                uploader_free(u);
                return r;
        }
        (void) sd_event_source_set_enabled(u->defer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(u->timer, SD_EVENT_OFF);
        *ret = u;
        return 0;
}

Uploader *uploader_free(Uploader *u) {
        if (!u)
                return NULL;
        while (u->jobs) {
                UploadJob *j = u->jobs;
                u->jobs = j->next_job;
                backend_put_cancel(u->backend, j->put);
                job_free(j);   /* unfinished: it stays in the spool for the next start */
        }
        sd_event_source_disable_unref(u->defer);
        sd_event_source_disable_unref(u->timer);
        sd_event_unref(u->event);
        free(u->last_group);
        free(u->last_error);
        free(u);
        return NULL;
}

/* A job that never was still owns its userdata. */
static int refuse(const UploadJobSpec *spec, int error) {
        if (spec->destroy)
                spec->destroy(spec->userdata);
        return error;
}

int uploader_add(Uploader *u, const UploadJobSpec *spec, UploadJob **ret) {
        UploadJob *j;

        if (spec->n_objects == 0 || spec->n_objects > UPLOAD_MAX_OBJECTS || !spec->done)
                return refuse(spec, -EINVAL);
        j = calloc(1, sizeof *j);
        if (!j)
                return refuse(spec, -ENOMEM);
        j->uploader = u;
        j->name = strdup(spec->name);
        j->group = strdup(spec->group);
        j->priority = spec->priority;
        j->object_done = spec->object_done;
        j->done = spec->done;
        j->userdata = spec->userdata;
        j->destroy = spec->destroy;
        j->seq = u->seq++;
        for (size_t i = 0; i < spec->n_objects; i++) {
                j->n_objects++;
                if (object_spec_copy(&j->objects[i], &spec->objects[i]) < 0) {
                        job_free(j);
                        return -ENOMEM;
                }
        }
        if (!j->name || !j->group) {
                job_free(j);
                return -ENOMEM;
        }
        /* Append, keeping FIFO order in the list too. */
        UploadJob **p = &u->jobs;
        while (*p)
                p = &(*p)->next_job;
        *p = j;
        schedule(u);
        changed(u);
        if (ret)
                *ret = j;
        return 0;
}

bool uploader_has(Uploader *u, const char *name) {
        for (UploadJob *j = u->jobs; j; j = j->next_job)
                if (streq(j->name, name))
                        return true;
        return false;
}

void uploader_get_stats(Uploader *u, UploaderStats *ret) {
        UploaderStats s = { .running = u->n_running, .bytes_confirmed = u->bytes_confirmed,
                            .failing = u->failing, .last_error = u->last_error };

        s.bytes_sent = u->backend->ops->bytes_sent ? u->backend->ops->bytes_sent(u->backend) : u->bytes_confirmed;
        memcpy(s.failures, u->failures, sizeof s.failures);

        for (UploadJob *j = u->jobs; j; j = j->next_job) {
                s.queued++;
                if (!j->running && j->not_before > 0)
                        s.waiting_retry++;
                for (size_t i = j->next; i < j->n_objects; i++)
                        s.bytes_pending += j->objects[i].size;
        }
        *ret = s;
}
