/* SPDX-License-Identifier: Apache-2.0 */
/* reconcile.c: see reconcile.h.
 *
 * A run goes camera by camera (each camera's list is read, sorted by key, one at
 * a time, so memory grows with one camera's history, not the dock's). Where
 * the backend lists (s3), the listing of the camera's prefix is walked beside
 * the sorted list: a key both have is proved by its size and ETag; a key the
 * listing lacks is asked about once more by itself (a HEAD) before it counts as
 * missing. Where it cannot list (file, tus), or where the ETag is not recorded,
 * each object is asked about and its bytes read back and hashed. At most
 * [storage] concurrency requests run at once. */
#include <inttypes.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "fileio.h"
#include "hexdecoct.h"
#include "log.h"
#include "message-ids.h"
#include "reconcile.h"

typedef struct Waiter {
        reconcile_done_t cb;
        void *userdata;
        struct Waiter *next;
} Waiter;

typedef struct Check Check;

typedef struct Run {
        Reconciler *reconciler;
        char id[37];
        char *trigger;
        usec_t started, started_mono;
        char **cameras;
        size_t camera;             /* index into cameras */
        TallyObject *objects;      /* the current camera's, sorted */
        uint8_t *need;             /* per object: NEED_* */
        size_t n_objects;
        size_t next;               /* first object the listing has not reached */
        size_t dispatch;           /* first object not yet asked about */
        BackendRequest *listing;
        char *list_prefix;
        uint64_t segments, objects_total, bytes, ok, unchecked;
        uint64_t lock_unreported;  /* retention to check, but the store reports none */
        uint64_t problems[4];      /* missing, altered, retention, legal_hold */
        uint64_t findings_truncated;
        struct json_object *findings, *unchecked_list;
        char *error;
        Check *checks;             /* requests in flight */
        unsigned n_checks;
        bool listing_done;
        bool lock_seen;            /* some object reported Object Lock */
} Run;

struct Check {
        Run *run;
        size_t index;              /* into run->objects */
        BackendRequest *req;
        Check *next;
};

struct Reconciler {
        sd_event *event;
        const DockdConfig *config;
        Backend *backend;
        CustodyTally *tally;
        reconcile_done_t finished;
        void *userdata;
        char *last_path;
        struct json_object *last;
        Run *run;
        Waiter *waiters;
        uint64_t runs[_RECONCILE_RESULT_MAX];
};

enum { PROBLEM_MISSING, PROBLEM_ALTERED, PROBLEM_RETENTION, PROBLEM_LEGAL_HOLD };
enum { NEED_NOTHING, NEED_STAT, NEED_READ_BACK };
static const char *const problem_names[] = { "missing", "altered", "retention", "legal_hold" };
static const char *const result_names[_RECONCILE_RESULT_MAX] = { "ok", "problems", "error" };

const char *reconcile_result_to_string(ReconcileResultKind k) {
        return k >= 0 && k < _RECONCILE_RESULT_MAX ? result_names[k] : NULL;
}

static void uuid4(char buf[37]) {
        uint8_t b[16] = {};

        (void) getrandom(b, sizeof b, 0);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        hexmem(b, 16, buf);   /* 32 digits, then dashes put in */
        memmove(buf + 24, buf + 20, 13);
        buf[23] = '-';
        memmove(buf + 19, buf + 16, 4);
        buf[18] = '-';
        memmove(buf + 14, buf + 12, 4);
        buf[13] = '-';
        memmove(buf + 9, buf + 8, 4);
        buf[8] = '-';
        buf[36] = 0;
}

static void format_usec(usec_t t, char buf[static 40]) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        char base[24];

        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", gmtime_r(&s, &tm));
        snprintf(buf, 40, "%s.%06" PRIu64 "Z", base, t % USEC_PER_SEC);
}

/* ---- findings ---- */

static struct json_object *expected_json(const TallyObject *o) {
        struct json_object *e = json_object_new_object();
        char hex[HEX_SIZE(32)];

        if (o->size != UINT64_MAX)
                json_object_object_add(e, "size", json_object_new_uint64(o->size));
        json_object_object_add(e, "sha256", json_object_new_string(hexmem(o->sha256, 32, hex)));
        if (o->etag)
                json_object_object_add(e, "etag", json_object_new_string(o->etag));
        if (o->retain_until)
                json_object_object_add(e, "retain_until", json_object_new_uint64(o->retain_until));
        if (o->legal_hold)
                json_object_object_add(e, "legal_hold", json_object_new_boolean(true));
        return e;
}

static struct json_object *found_json(const BackendStat *st) {
        struct json_object *f;
        char hex[HEX_SIZE(32)];

        if (!st)
                return NULL;
        f = json_object_new_object();
        json_object_object_add(f, "size", json_object_new_uint64(st->size));
        if (st->have_sha256)
                json_object_object_add(f, "sha256", json_object_new_string(hexmem(st->sha256, 32, hex)));
        if (st->etag)
                json_object_object_add(f, "etag", json_object_new_string(st->etag));
        if (st->lock_reported) {
                json_object_object_add(f, "lock_mode", st->lock_mode ? json_object_new_string(st->lock_mode) : NULL);
                json_object_object_add(f, "retain_until", json_object_new_uint64(st->retain_until));
                json_object_object_add(f, "legal_hold", json_object_new_boolean(st->legal_hold));
        }
        return f;
}

static void problem(Run *run, const TallyObject *o, int kind, const BackendStat *st, const char *detail) {
        const char *serial = run->cameras[run->camera];
        struct json_object *f;

        run->problems[kind]++;
        log_full_errno_ctx(LOG_CRIT, 0,
                           (&(LogContext) {
                                   .serial = serial, .segment = o->segment,
                                   .message_id = DOCKD_MESSAGE_RECONCILE_PROBLEM,
                                   .fields = (const LogField[]) {
                                           { "DOCKD_OBJECT_KEY", o->key },
                                           { "DOCKD_PROBLEM", problem_names[kind] },
                                           {},
                                   },
                           }),
                           "Central storage: %s %s: %s. This dock deleted it from camera %s.", o->key,
                           problem_names[kind], detail, serial);
        if (json_object_array_length(run->findings) >= RECONCILE_FINDINGS_MAX) {
                run->findings_truncated++;
                return;
        }
        f = json_object_new_object();
        json_object_object_add(f, "kind", json_object_new_string(problem_names[kind]));
        json_object_object_add(f, "key", json_object_new_string(o->key));
        json_object_object_add(f, "camera", json_object_new_string(serial));
        json_object_object_add(f, "segment", json_object_new_string(o->segment));
        json_object_object_add(f, "expected", expected_json(o));
        json_object_object_add(f, "found", found_json(st));
        json_object_object_add(f, "detail", json_object_new_string(detail));
        json_object_array_add(run->findings, f);
}

static void unchecked(Run *run, const TallyObject *o, const char *why) {
        struct json_object *u;

        run->unchecked++;
        log_debug("Reconciliation: %s not checked: %s", o->key, why);
        if (json_object_array_length(run->unchecked_list) >= RECONCILE_UNCHECKED_LISTED)
                return;
        u = json_object_new_object();
        json_object_object_add(u, "key", json_object_new_string(o->key));
        json_object_object_add(u, "detail", json_object_new_string(why));
        json_object_array_add(run->unchecked_list, u);
}

static bool etag_equal(const char *a, const char *b) {
        size_t la, lb;

        /* ETags come quoted or not, depending on who reports them. */
        a += *a == '"';
        b += *b == '"';
        la = strcspn(a, "\"");
        lb = strcspn(b, "\"");
        return la == lb && strncasecmp(a, b, la) == 0;
}

/* Compare what the store reports with what was confirmed. */
static void judge(Run *run, const TallyObject *o, const BackendStat *st) {
        const DockdConfig *c = run->reconciler->config;
        char detail[200];
        bool bad = false;

        if (o->size != UINT64_MAX && st->size != o->size) {
                snprintf(detail, sizeof detail, "%" PRIu64 " bytes, confirmed with %" PRIu64, st->size, o->size);
                bad = true;
        } else if (st->have_sha256 && memcmp(st->sha256, o->sha256, 32) != 0) {
                snprintf(detail, sizeof detail, "its bytes hash to another SHA-256 than was confirmed");
                bad = true;
        } else if (o->etag && st->etag && !etag_equal(o->etag, st->etag)) {
                snprintf(detail, sizeof detail, "ETag %.64s, confirmed with %.64s", st->etag, o->etag);
                bad = true;
        }
        if (bad)
                return problem(run, o, PROBLEM_ALTERED, st, detail);
        if (c->s3_object_lock && (o->retain_until || o->legal_hold) && !st->lock_reported)
                run->lock_unreported++;   /* e.g. Swift: ignores Object Lock, reports nothing */
        if (c->s3_object_lock && st->lock_reported) {
                run->lock_seen = true;
                if (o->retain_until && (!st->lock_mode || st->retain_until < o->retain_until)) {
                        snprintf(detail, sizeof detail, "retained until %" PRIu64 ", policy gave %" PRIu64,
                                 st->retain_until, o->retain_until);
                        return problem(run, o, PROBLEM_RETENTION, st, detail);
                }
                if (o->legal_hold && !st->legal_hold)
                        return problem(run, o, PROBLEM_LEGAL_HOLD, st, "no legal hold; policy set one");
        }
        run->ok++;
}

/* ---- requests ---- */

static void run_step(Run *run);
static void run_finish(Run *run);

static void check_free(Check *k) {
        Run *run = k->run;

        for (Check **p = &run->checks; *p; p = &(*p)->next)
                if (*p == k) {
                        *p = k->next;
                        break;
                }
        run->n_checks--;
        free(k);
}

static void on_stat(BackendRequest *req, int error, const BackendStat *st, const char *message, void *userdata) {
        Check *k = userdata;
        Run *run = k->run;
        const TallyObject *o = &run->objects[k->index];

        k->req = NULL;
        if (error == -ENOENT)
                problem(run, o, PROBLEM_MISSING, NULL, "not in central storage");
        else if (error < 0)
                unchecked(run, o, message ?: strerror(-error));
        else
                judge(run, o, st);
        check_free(k);
        run_step(run);
}

static int check_start(Run *run, size_t index, bool read_back) {
        const TallyObject *o = &run->objects[index];
        BackendStatSpec spec = {
                .key = o->key,
                .location = o->location,
                .read_back = read_back,
                .object_lock = run->reconciler->config->s3_object_lock,
        };
        Check *k = calloc(1, sizeof *k);
        int r;

        if (!k)
                return -ENOMEM;
        *k = (Check) { .run = run, .index = index, .next = run->checks };
        run->checks = k;
        run->n_checks++;
        r = backend_stat(run->reconciler->backend, &spec, on_stat, k, &k->req);
        if (r < 0) {
                check_free(k);
                if (r == -EOPNOTSUPP) {   /* e.g. a tus upload whose URL was never recorded */
                        unchecked(run, o, "the backend cannot address it (no upload URL recorded)");
                        return 0;
                }
        }
        return r;
}

/* ---- listing (s3) ---- */

static int listing_start(Run *run, const char *continuation);

static void on_list(BackendRequest *req, int error, const BackendListEntry *entries, size_t n, const char *next,
                    const char *message, void *userdata) {
        Run *run = userdata;
        size_t i = 0;

        run->listing = NULL;
        if (error < 0) {
                if (asprintf(&run->error, "listing %s: %s", run->list_prefix, message ?: strerror(-error)) < 0)
                        run->error = NULL;
                return run_finish(run);
        }
        /* Merge: both sides are sorted by key. An object the listing proves
         * needs nothing more; one it lacks, or whose ETag was not recorded, or
         * whose retention only a HEAD shows, is asked about by itself (run_step,
         * within the concurrency limit). */
        for (; run->next < run->n_objects; run->next++) {
                TallyObject *o = &run->objects[run->next];
                while (i < n && strcmp(entries[i].key, o->key) < 0)
                        i++;
                if (i == n && next)
                        break;   /* may be on the next page */
                if (i < n && streq(entries[i].key, o->key) && o->etag) {
                        BackendStat st = { .size = entries[i].size, .etag = entries[i].etag };
                        if (run->reconciler->config->s3_object_lock && (o->retain_until || o->legal_hold))
                                run->need[run->next] = NEED_STAT;
                        else {
                                run->need[run->next] = NEED_NOTHING;
                                judge(run, o, &st);
                        }
                } else
                        run->need[run->next] = o->etag ? NEED_STAT : NEED_READ_BACK;
        }
        if (next && run->next < run->n_objects) {
                if (listing_start(run, next) < 0) {
                        run->error = strdup("cannot continue the listing");
                        return run_finish(run);
                }
                return;
        }
        run->next = run->n_objects;
        run->listing_done = true;
        run_step(run);
}

static int listing_start(Run *run, const char *continuation) {
        return backend_list(run->reconciler->backend, run->list_prefix, continuation, on_list, run, &run->listing);
}

/* "<prefix>/evidence/<serial>/…": the part up to the serial's slash. */
static char *camera_prefix(const char *key, const char *serial) {
        size_t ls = strlen(serial);

        for (const char *p = strstr(key, serial); p; p = strstr(p + 1, serial))
                if ((p == key || p[-1] == '/') && p[ls] == '/')
                        return strndup(key, (size_t) (p - key) + ls + 1);
        return NULL;
}

/* ---- the run ---- */

static void objects_free(Run *run) {
        for (size_t i = 0; i < run->n_objects; i++)
                tally_object_done(&run->objects[i]);
        free(run->objects);
        run->objects = NULL;
        free(run->need);
        run->need = NULL;
        run->n_objects = run->next = run->dispatch = 0;
        free(run->list_prefix);
        run->list_prefix = NULL;
        run->listing_done = false;
}

/* Load the next camera's list; false when there is none left. */
static bool camera_next(Run *run) {
        Reconciler *rc = run->reconciler;
        int r;

        objects_free(run);
        for (; run->cameras[run->camera]; run->camera++) {
                const char *serial = run->cameras[run->camera];
                r = custody_tally_read_objects(rc->tally, serial, &run->objects, &run->n_objects);
                if (r < 0) {
                        log_warning_errno(r, "Reconciliation: cannot read the list of camera %s: %m", serial);
                        continue;
                }
                if (run->n_objects == 0)
                        continue;
                run->need = malloc(run->n_objects);
                if (!run->need) {
                        run->error = strdup("out of memory");
                        return false;
                }
                memset(run->need, NEED_READ_BACK, run->n_objects);
                run->objects_total += run->n_objects;
                for (size_t i = 0; i < run->n_objects; i++) {
                        if (run->objects[i].size != UINT64_MAX)
                                run->bytes += run->objects[i].size;
                        if (endswith(run->objects[i].key, ".mp4"))
                                run->segments++;
                }
                if (rc->backend->ops->list) {
                        run->list_prefix = camera_prefix(run->objects[0].key, serial);
                        if (run->list_prefix && listing_start(run, NULL) >= 0)
                                return true;
                        free(run->list_prefix);
                        run->list_prefix = NULL;
                }
                run->next = run->n_objects;
                run->listing_done = true;
                return true;
        }
        return false;
}

static void run_step(Run *run) {
        unsigned max = MAX(run->reconciler->config->storage_concurrency, 1u);

        for (;;) {
                if (run->error)
                        return run_finish(run);
                /* Ask about what the listing has reached (everything, without one). */
                for (; run->dispatch < run->next && run->n_checks < max; run->dispatch++) {
                        size_t i = run->dispatch;
                        if (run->need[i] != NEED_NOTHING && check_start(run, i, run->need[i] == NEED_READ_BACK) < 0)
                                unchecked(run, &run->objects[i], "cannot start a request");
                }
                if (run->n_checks > 0 || !run->listing_done || run->dispatch < run->n_objects)
                        return;   /* on_stat or on_list goes on */
                if (run->cameras[run->camera])
                        run->camera++;
                if (!camera_next(run))
                        return run_finish(run);
        }
}

static const char *method_of(const Backend *b) {
        if (streq(b->ops->name, "s3"))
                return "size and ETag from ListObjectsV2; read-back SHA-256 where no ETag was recorded";
        if (streq(b->ops->name, "tus"))
                return "HEAD of the upload URL (length and offset), read-back SHA-256 (GET)";
        return "size and read-back SHA-256";
}

static struct json_object *result_json(Run *run, usec_t finished) {
        Reconciler *rc = run->reconciler;
        struct json_object *o = json_object_new_object(), *p = json_object_new_object();
        char buf[40];

        json_object_object_add(o, "id", json_object_new_string(run->id));
        json_object_object_add(o, "trigger", json_object_new_string(run->trigger));
        format_usec(run->started, buf);
        json_object_object_add(o, "started", json_object_new_string(buf));
        format_usec(finished, buf);
        json_object_object_add(o, "finished", json_object_new_string(buf));
        json_object_object_add(o, "duration_seconds",
                               json_object_new_double((double) (finished - run->started) / USEC_PER_SEC));
        json_object_object_add(o, "backend", json_object_new_string(rc->backend->ops->name));
        json_object_object_add(o, "method", json_object_new_string(method_of(rc->backend)));
        json_object_object_add(o, "segments", json_object_new_uint64(run->segments));
        json_object_object_add(o, "objects", json_object_new_uint64(run->objects_total));
        json_object_object_add(o, "bytes", json_object_new_uint64(run->bytes));
        json_object_object_add(o, "ok", json_object_new_uint64(run->ok));
        json_object_object_add(o, "unchecked", json_object_new_uint64(run->unchecked));
        json_object_object_add(o, "retention_unreported", json_object_new_uint64(run->lock_unreported));
        for (size_t i = 0; i < ELEMENTSOF(problem_names); i++)
                json_object_object_add(p, problem_names[i], json_object_new_uint64(run->problems[i]));
        json_object_object_add(o, "problems", p);
        json_object_object_add(o, "findings", json_object_get(run->findings));
        json_object_object_add(o, "findings_truncated", json_object_new_uint64(run->findings_truncated));
        json_object_object_add(o, "unchecked_objects", json_object_get(run->unchecked_list));
        json_object_object_add(o, "error", run->error ? json_object_new_string(run->error) : NULL);
        json_object_object_add(o, "report", NULL);
        return o;
}

static void run_free(Run *run) {
        if (!run)
                return;
        while (run->checks) {
                Check *k = run->checks;
                backend_request_cancel(run->reconciler->backend, k->req);
                check_free(k);
        }
        backend_request_cancel(run->reconciler->backend, run->listing);
        objects_free(run);
        strv_free(run->cameras);
        json_object_put(run->findings);
        json_object_put(run->unchecked_list);
        free(run->trigger);
        free(run->error);
        free(run);
}

static ReconcileResultKind result_kind(Run *run) {
        uint64_t n = 0;

        if (run->error)
                return RECONCILE_ERROR;
        for (size_t i = 0; i < ELEMENTSOF(run->problems); i++)
                n += run->problems[i];
        return n > 0 ? RECONCILE_PROBLEMS : RECONCILE_OK;
}

static void run_log(Run *run, ReconcileResultKind kind, double seconds) {
        char n[24], p[24];

        snprintf(n, sizeof n, "%" PRIu64, run->objects_total);
        snprintf(p, sizeof p, "%" PRIu64, run->problems[0] + run->problems[1] + run->problems[2] + run->problems[3]);
        if (kind == RECONCILE_ERROR)
                log_full_errno_ctx(LOG_WARNING, 0,
                                   (&(LogContext) { .message_id = DOCKD_MESSAGE_RECONCILE_FAILED,
                                                    .fields = (const LogField[]) { { "DOCKD_REASON", run->error }, {} } }),
                                   "Reconciliation could not finish: %s. The last result stands.", run->error);
        else
                log_full_errno_ctx(kind == RECONCILE_OK ? LOG_INFO : LOG_CRIT, 0,
                                   (&(LogContext) { .message_id = DOCKD_MESSAGE_RECONCILE_DONE,
                                                    .fields = (const LogField[]) { { "DOCKD_OBJECTS", n },
                                                                                   { "DOCKD_PROBLEMS", p }, {} } }),
                                   "Reconciliation checked %s objects (%" PRIu64 " segments deleted from cameras) in "
                                   "%.1f s: %s problems, %" PRIu64 " not checkable.", n, run->segments, seconds, p,
                                   run->unchecked);
}

static void run_finish(Run *run) {
        Reconciler *rc = run->reconciler;
        struct json_object *result;
        ReconcileResultKind kind = result_kind(run);
        Waiter *w = TAKE_PTR(rc->waiters);
        usec_t now = 0;
        int r;

        (void) sd_event_now(rc->event, CLOCK_REALTIME, &now);
        rc->run = NULL;
        result = result_json(run, now);
        rc->runs[kind]++;
        run_log(run, kind, (double) (now - run->started) / USEC_PER_SEC);
        run_free(run);
        if (rc->finished)   /* may add "report" before the result is kept */
                rc->finished(rc, result, rc->userdata);
        if (kind != RECONCILE_ERROR) {
                const char *text = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN);
                r = write_file_atomic(rc->last_path, text, strlen(text), 0640);
                if (r < 0)
                        log_warning_errno(r, "Cannot keep the reconciliation's result in %s: %m", rc->last_path);
                json_object_put(rc->last);
                rc->last = json_object_get(result);
        }
        while (w) {
                Waiter *next = w->next;
                w->cb(rc, result, w->userdata);
                free(w);
                w = next;
        }
        json_object_put(result);
}

static int run_new(Reconciler *rc, const char *trigger, Run **ret) {
        Run *run = calloc(1, sizeof *run);
        int r;

        if (!run)
                return -ENOMEM;
        run->reconciler = rc;
        uuid4(run->id);
        run->trigger = strdup(trigger);
        run->findings = json_object_new_array();
        run->unchecked_list = json_object_new_array();
        (void) sd_event_now(rc->event, CLOCK_REALTIME, &run->started);
        r = run->trigger ? custody_tally_cameras(rc->tally, &run->cameras) : -ENOMEM;
        if (r < 0) {
                run_free(run);
                return r;
        }
        *ret = run;
        return 0;
}

int reconciler_run(Reconciler *rc, const char *trigger, reconcile_done_t cb, void *userdata) {
        Waiter *w = calloc(1, sizeof *w);
        Run *run;
        int r;

        if (!w)
                return -ENOMEM;
        *w = (Waiter) { .cb = cb, .userdata = userdata };
        if (rc->run) {
                log_info("A %s reconciliation waits for the reconciliation in progress (%s).", trigger, rc->run->id);
                w->next = rc->waiters;
                rc->waiters = w;
                return 0;
        }
        r = run_new(rc, trigger, &run);
        if (r < 0) {
                free(w);
                return r;
        }
        rc->run = run;
        rc->waiters = w;
        log_info("Reconciliation started (%s, %s): proving central storage holds what this dock deleted from cameras.",
                 run->id, trigger);
        if (!camera_next(run))
                run_finish(run);
        else
                run_step(run);
        return 0;
}

bool reconciler_running(Reconciler *rc) {
        return rc->run != NULL;
}

struct json_object *reconciler_last(Reconciler *rc) {
        return rc->last;
}

uint64_t reconciler_runs(Reconciler *rc, ReconcileResultKind k) {
        return k >= 0 && k < _RECONCILE_RESULT_MAX ? rc->runs[k] : 0;
}

usec_t reconcile_result_started(struct json_object *result) {
        struct json_object *v;
        struct tm tm = {};
        const char *s, *end;

        if (!result || !json_object_object_get_ex(result, "started", &v) || !(s = json_object_get_string(v)))
                return 0;
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        return end ? (usec_t) timegm(&tm) * USEC_PER_SEC : 0;
}

usec_t reconciler_last_started(Reconciler *rc) {
        return reconcile_result_started(rc->last);
}

int reconciler_new(sd_event *event, const DockdConfig *config, Backend *backend, CustodyTally *tally,
                   reconcile_done_t finished, void *userdata, Reconciler **ret) {
        _cleanup_(reconciler_freep) Reconciler *rc = calloc(1, sizeof *rc);
        _cleanup_free_ char *dir = NULL, *text = NULL;
        int r;

        if (!rc)
                return -ENOMEM;
        *rc = (Reconciler) { .event = sd_event_ref(event), .config = config, .backend = backend, .tally = tally,
                             .finished = finished, .userdata = userdata };
        dir = path_join(config->state_dir, "reconcile");
        rc->last_path = dir ? path_join(dir, "last.json") : NULL;
        if (!rc->last_path)
                return -ENOMEM;
        r = read_full_file(rc->last_path, 16 * MiB, &text, NULL);
        if (r >= 0) {
                rc->last = json_tokener_parse(text);
                if (!rc->last || !json_object_is_type(rc->last, json_type_object)) {
                        log_warning("%s does not parse; the last reconciliation's result is forgotten.", rc->last_path);
                        rc->last = (json_object_put(rc->last), NULL);
                }
        } else if (r != -ENOENT)
                log_warning_errno(r, "Cannot read %s: %m", rc->last_path);
        *ret = TAKE_PTR(rc);
        return 0;
}

Reconciler *reconciler_free(Reconciler *rc) {
        if (!rc)
                return NULL;
        run_free(rc->run);
        while (rc->waiters) {   /* told that no result will come */
                Waiter *w = rc->waiters;
                rc->waiters = w->next;
                w->cb(rc, NULL, w->userdata);
                free(w);
        }
        json_object_put(rc->last);
        free(rc->last_path);
        sd_event_unref(rc->event);
        free(rc);
        return NULL;
}
