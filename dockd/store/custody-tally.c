/* SPDX-License-Identifier: Apache-2.0 */
/* custody-tally.c: see custody-tally.h.
 *
 * Segments under way (pulled, not yet deleted from the camera) are kept in a
 * small table: the pulled record gives the video's size (the other records'
 * byte counts come from it), each uploaded record adds one object. A deletion
 * moves the segment's objects to its camera's list; a quarantined segment,
 * which is never deleted, leaves the table once central storage confirmed it.
 * Records are the log's own, durable and signed; a line that does not parse is
 * skipped (the verifier, not this count, judges the log). */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custody-tally.h"
#include "custody.h"
#include "fileio.h"
#include "hexdecoct.h"
#include "parse-util.h"

#define TALLY_BUCKETS 256
#define TALLY_LINE_MAX (64 * 1024)   /* the log's own line limit */
#define TALLY_LIST_MAX (256 * MiB)   /* one camera's object list */

static inline void json_object_putp(json_object **p) {
        json_object_put(*p);
}

typedef struct Pending {
        char *camera, *segment;
        uint64_t size;             /* of the video; UINT64_MAX until pulled */
        bool quarantined;
        TallyObject objects[3];
        size_t n_objects;
        struct Pending *next;
} Pending;

struct CustodyTally {
        char *custody_dir;
        char *dir;                 /* <state_dir>/reconcile */
        char *objects_dir;
        uint64_t next_seq;
        TallyCounts counts;
        Pending *pending[TALLY_BUCKETS];
        char **dirty;              /* object lists appended to since the checkpoint */
        size_t n_dirty;
};

static const char *const stage_names[_TALLY_STAGE_MAX] = {
        [TALLY_PULLED] = "pulled", [TALLY_VERIFIED] = "verified", [TALLY_QUARANTINED] = "quarantined",
        [TALLY_UPLOADED] = "uploaded", [TALLY_CONFIRMED] = "confirmed", [TALLY_DELETED] = "deleted",
};

const char *tally_stage_to_string(TallyStage s) {
        return s >= 0 && s < _TALLY_STAGE_MAX ? stage_names[s] : NULL;
}

void tally_object_done(TallyObject *o) {
        free(o->key);
        free(o->segment);
        free(o->etag);
        free(o->location);
        *o = (TallyObject) {};
}

static void pending_free(Pending *p) {
        for (size_t i = 0; i < p->n_objects; i++)
                tally_object_done(&p->objects[i]);
        free(p->camera);
        free(p->segment);
        free(p);
}

static unsigned bucket_of(const char *camera, const char *segment) {
        uint32_t h = 2166136261u;   /* FNV-1a */

        for (const char *s = camera; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        for (const char *s = segment; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h % TALLY_BUCKETS;
}

static Pending **pending_find(CustodyTally *t, const char *camera, const char *segment) {
        Pending **p = &t->pending[bucket_of(camera, segment)];

        for (; *p; p = &(*p)->next)
                if (streq((*p)->camera, camera) && streq((*p)->segment, segment))
                        break;
        return p;
}

static Pending *pending_get(CustodyTally *t, const char *camera, const char *segment) {
        Pending **p = pending_find(t, camera, segment);

        if (*p)
                return *p;
        *p = calloc(1, sizeof **p);
        if (!*p)
                return NULL;
        (*p)->camera = strdup(camera);
        (*p)->segment = strdup(segment);
        (*p)->size = UINT64_MAX;
        if (!(*p)->camera || !(*p)->segment) {
                pending_free(TAKE_PTR(*p));
                return NULL;
        }
        return *p;
}

static void pending_drop(CustodyTally *t, const char *camera, const char *segment) {
        Pending **p = pending_find(t, camera, segment), *q = *p;

        if (q) {
                *p = q->next;
                pending_free(q);
        }
}

static const char *field(const LogField *fields, const char *key) {
        for (const LogField *f = fields; f && f->key; f++)
                if (streq(f->key, key))
                        return f->value;
        return NULL;
}

static uint64_t field_u64(const LogField *fields, const char *key, uint64_t fallback) {
        const char *v = field(fields, key);
        uint64_t u;

        return v && parse_uint64(v, &u) >= 0 ? u : fallback;
}

/* A value kept in an object list must not break its tab-separated line. */
static char *strdup_field(const char *v) {
        return v && *v && !strpbrk(v, "\t\n\r") ? strdup(v) : NULL;
}

static void count(CustodyTally *t, TallyStage s, uint64_t size) {
        t->counts.count[s]++;
        if (size != UINT64_MAX)
                t->counts.bytes[s] += size;
}

static void on_uploaded(CustodyTally *t, Pending *p, const LogField *fields) {
        const char *key = field(fields, "key"), *sha = field(fields, "sha256");
        uint64_t size = field_u64(fields, "size", UINT64_MAX);
        TallyObject *o;

        count(t, TALLY_UPLOADED, size);
        if (!key || !sha || strpbrk(key, "\t\n\r"))
                return;
        for (size_t i = 0; i < p->n_objects; i++)   /* sent again after a restart */
                if (streq(p->objects[i].key, key))
                        tally_object_done(&p->objects[i]), p->objects[i] = p->objects[--p->n_objects];
        if (p->n_objects >= ELEMENTSOF(p->objects))
                return;
        o = &p->objects[p->n_objects];
        *o = (TallyObject) { .size = size, .retain_until = field_u64(fields, "retain_until", 0) };
        if (unhexmem(sha, o->sha256, 32) < 0)
                return;
        o->key = strdup(key);
        o->segment = strdup(p->segment);
        o->etag = strdup_field(field(fields, "etag"));
        o->location = strdup_field(field(fields, "location"));
        o->legal_hold = streq_ptr(field(fields, "legal_hold"), "true");
        if (!o->key || !o->segment)
                return tally_object_done(o);
        p->n_objects++;
}

static bool serial_is_file_name(const char *s) {
        return name_is_valid(s, 64);
}

static int dirty_add(CustodyTally *t, const char *path) {
        char **n;

        for (size_t i = 0; i < t->n_dirty; i++)
                if (streq(t->dirty[i], path))
                        return 0;
        n = realloc(t->dirty, (t->n_dirty + 2) * sizeof *n);   /* NULL-terminated: strv_free() */
        if (!n)
                return -ENOMEM;
        t->dirty = n;
        t->dirty[t->n_dirty] = strdup(path);
        t->dirty[t->n_dirty + 1] = NULL;
        if (!t->dirty[t->n_dirty])
                return -ENOMEM;
        t->n_dirty++;
        return 0;
}

static int object_line(const TallyObject *o, char **ret) {
        char hex[HEX_SIZE(32)];

        return asprintf(ret, "%s\t%s\t%" PRIu64 "\t%s\t%s\t%s\t%" PRIu64 "\t%d\n", o->key, o->segment,
                        o->size, hexmem(o->sha256, 32, hex), o->etag ?: "-", o->location ?: "-",
                        o->retain_until, o->legal_hold) < 0 ? -ENOMEM : 0;
}

/* A deletion: the segment's objects go to its camera's list (appended; made
 * durable before the next checkpoint). */
static int on_deleted(CustodyTally *t, Pending *p) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (p->n_objects == 0 || !serial_is_file_name(p->camera))
                return 0;
        path = path_join(t->objects_dir, p->camera);
        if (!path)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < p->n_objects; i++) {
                _cleanup_free_ char *line = NULL;
                r = object_line(&p->objects[i], &line);
                if (r >= 0)
                        r = write_all(fd, line, strlen(line));
                if (r < 0)
                        return r;
        }
        return dirty_add(t, path);
}

void custody_tally_record(CustodyTally *t, uint64_t seq, const char *event, const char *camera,
                          const char *segment, const LogField *fields) {
        Pending *p;

        if (seq < t->next_seq)
                return;
        t->next_seq = seq + 1;
        if (!camera || !segment)
                return;
        if (streq(event, CUSTODY_PULLED)) {
                p = pending_get(t, camera, segment);
                if (p)
                        p->size = field_u64(fields, "size", UINT64_MAX);
                count(t, TALLY_PULLED, p ? p->size : UINT64_MAX);
                return;
        }
        p = *pending_find(t, camera, segment);
        if (streq(event, CUSTODY_VERIFIED))
                count(t, TALLY_VERIFIED, p ? p->size : UINT64_MAX);
        else if (streq(event, CUSTODY_QUARANTINED)) {
                count(t, TALLY_QUARANTINED, p ? p->size : UINT64_MAX);
                if (p)
                        p->quarantined = true;
        } else if (streq(event, CUSTODY_UPLOADED)) {
                p = p ?: pending_get(t, camera, segment);
                if (p)
                        on_uploaded(t, p, fields);
                else
                        count(t, TALLY_UPLOADED, UINT64_MAX);
        } else if (streq(event, CUSTODY_CONFIRMED)) {
                count(t, TALLY_CONFIRMED, p ? p->size : UINT64_MAX);
                if (p && p->quarantined)   /* held on the camera for good */
                        pending_drop(t, camera, segment);
        } else if (streq(event, CUSTODY_DELETED)) {
                count(t, TALLY_DELETED, p ? p->size : UINT64_MAX);
                if (p) {
                        int r = on_deleted(t, p);
                        if (r < 0)
                                log_warning_errno(r, "Cannot add %s %s to the reconciliation list: %m", camera, segment);
                        pending_drop(t, camera, segment);
                }
        }
}

/* ---- reading the log ---- */

static int record_apply(CustodyTally *t, const char *line) {
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse(line);
        const char *event = NULL, *camera = NULL, *segment = NULL;
        LogField fields[16] = {};
        size_t n = 0;
        int64_t seq = -1;

        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        json_object_object_foreach(o, k, v) {
                if (streq(k, "seq"))
                        seq = json_object_get_int64(v);
                else if (!json_object_is_type(v, json_type_string))
                        continue;
                else if (streq(k, "event"))
                        event = json_object_get_string(v);
                else if (streq(k, "camera"))
                        camera = json_object_get_string(v);
                else if (streq(k, "segment"))
                        segment = json_object_get_string(v);
                else if (n < ELEMENTSOF(fields) - 1)
                        fields[n++] = (LogField) { k, json_object_get_string(v) };
        }
        if (seq < 0 || !event)
                return -EBADMSG;
        custody_tally_record(t, (uint64_t) seq, event, camera, segment, fields);
        return 1;
}

static int file_apply(CustodyTally *t, const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t k;
        int n = 0;

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while ((k = getline(&line, &cap, f)) > 0) {
                if (k > TALLY_LINE_MAX || line[k - 1] != '\n')
                        continue;   /* not a whole record (a torn tail is cut at open) */
                line[k - 1] = 0;
                if (record_apply(t, line) > 0)
                        n++;
        }
        return n;
}

/* "<dock>-<first>-<last>.jsonl": the last seq, or -EINVAL. */
static int64_t sealed_last(const char *name) {
        const char *e = endswith(name, ".jsonl"), *dash;
        uint64_t last;
        char buf[16];

        if (!e || e - name < 12)
                return -EINVAL;
        dash = e - 11;
        if (*dash != '-')
                return -EINVAL;
        snprintf(buf, sizeof buf, "%.*s", 10, dash + 1);
        return parse_uint64(buf, &last) >= 0 ? (int64_t) last : -EINVAL;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int custody_tally_catch_up(CustodyTally *t) {
        _cleanup_free_ char *sealed = path_join(t->custody_dir, "sealed"), *cur = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int total = 0, r;
        DIR *d;

        if (!sealed)
                return -ENOMEM;
        d = opendir(sealed);
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        int64_t last = sealed_last(de->d_name);
                        char **nn;
                        if (last < 0 || (uint64_t) last < t->next_seq)
                                continue;
                        nn = realloc(names, (n + 2) * sizeof *nn);
                        if (!nn) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        names = nn;
                        names[n] = path_join(sealed, de->d_name);
                        names[++n] = NULL;
                        if (!names[n - 1]) {
                                closedir(d);
                                return -ENOMEM;
                        }
                }
                closedir(d);
        }
        /* Sealed names sort in chain order: the seqs are zero-padded. */
        if (n > 0)
                qsort(names, n, sizeof *names, name_cmp);
        for (size_t i = 0; i < n; i++) {
                r = file_apply(t, names[i]);
                if (r < 0)
                        return r;
                total += r;
        }
        cur = path_join(t->custody_dir, "current.jsonl");
        if (!cur)
                return -ENOMEM;
        r = file_apply(t, cur);
        if (r < 0)
                return r;
        total += r;
        r = custody_tally_checkpoint(t);
        return r < 0 ? r : total;
}

/* ---- checkpoint ---- */

static json_object *object_json(const TallyObject *o) {
        json_object *j = json_object_new_object();
        char hex[HEX_SIZE(32)];

        json_object_object_add(j, "key", json_object_new_string(o->key));
        json_object_object_add(j, "size", json_object_new_uint64(o->size));
        json_object_object_add(j, "sha256", json_object_new_string(hexmem(o->sha256, 32, hex)));
        if (o->etag)
                json_object_object_add(j, "etag", json_object_new_string(o->etag));
        if (o->location)
                json_object_object_add(j, "location", json_object_new_string(o->location));
        json_object_object_add(j, "retain_until", json_object_new_uint64(o->retain_until));
        json_object_object_add(j, "legal_hold", json_object_new_boolean(o->legal_hold));
        return j;
}

static json_object *checkpoint_json(CustodyTally *t) {
        json_object *j = json_object_new_object(), *counts = json_object_new_object(), *pend = json_object_new_array();

        json_object_object_add(j, "version", json_object_new_int(1));
        json_object_object_add(j, "next_seq", json_object_new_uint64(t->next_seq));
        for (TallyStage s = 0; s < _TALLY_STAGE_MAX; s++) {
                json_object *c = json_object_new_object();
                json_object_object_add(c, "count", json_object_new_uint64(t->counts.count[s]));
                json_object_object_add(c, "bytes", json_object_new_uint64(t->counts.bytes[s]));
                json_object_object_add(counts, stage_names[s], c);
        }
        json_object_object_add(j, "counts", counts);
        for (size_t b = 0; b < TALLY_BUCKETS; b++)
                for (Pending *p = t->pending[b]; p; p = p->next) {
                        json_object *e = json_object_new_object(), *objs = json_object_new_array();
                        json_object_object_add(e, "camera", json_object_new_string(p->camera));
                        json_object_object_add(e, "segment", json_object_new_string(p->segment));
                        json_object_object_add(e, "size", json_object_new_uint64(p->size));
                        json_object_object_add(e, "quarantined", json_object_new_boolean(p->quarantined));
                        for (size_t i = 0; i < p->n_objects; i++)
                                json_object_array_add(objs, object_json(&p->objects[i]));
                        json_object_object_add(e, "objects", objs);
                        json_object_array_add(pend, e);
                }
        json_object_object_add(j, "pending", pend);
        return j;
}

int custody_tally_checkpoint(CustodyTally *t) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_free_ char *path = path_join(t->dir, "tally");
        const char *text;
        int r;

        if (!path)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_dirty; i++) {
                r = fsync_path(t->dirty[i]);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        if (t->n_dirty > 0) {
                r = fsync_path(t->objects_dir);
                if (r < 0)
                        return r;
        }
        strv_free(t->dirty);
        t->dirty = NULL;
        t->n_dirty = 0;
        j = checkpoint_json(t);
        text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        return write_file_atomic(path, text, strlen(text), 0640);
}

static uint64_t json_u64(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static int checkpoint_load(CustodyTally *t) {
        _cleanup_free_ char *path = path_join(t->dir, "tally"), *text = NULL;
        _cleanup_(json_object_putp) json_object *j = NULL;
        json_object *counts, *pend;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, 64 * MiB, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        j = json_tokener_parse(text);
        if (!j || json_u64(j, "version") != 1)
                return -EBADMSG;
        t->next_seq = json_u64(j, "next_seq");
        if (json_object_object_get_ex(j, "counts", &counts))
                for (TallyStage s = 0; s < _TALLY_STAGE_MAX; s++) {
                        json_object *c;
                        if (json_object_object_get_ex(counts, stage_names[s], &c)) {
                                t->counts.count[s] = json_u64(c, "count");
                                t->counts.bytes[s] = json_u64(c, "bytes");
                        }
                }
        if (!json_object_object_get_ex(j, "pending", &pend))
                return 0;
        for (size_t i = 0; i < json_object_array_length(pend); i++) {
                json_object *e = json_object_array_get_idx(pend, i), *objs;
                const char *cam = json_str(e, "camera"), *seg = json_str(e, "segment");
                Pending *p;
                if (!cam || !seg || !(p = pending_get(t, cam, seg)))
                        return -EBADMSG;
                p->size = json_u64(e, "size");
                p->quarantined = json_object_get_boolean(json_object_object_get(e, "quarantined"));
                if (!json_object_object_get_ex(e, "objects", &objs))
                        continue;
                for (size_t k = 0; k < json_object_array_length(objs) && p->n_objects < 3; k++) {
                        json_object *oj = json_object_array_get_idx(objs, k);
                        TallyObject *o = &p->objects[p->n_objects];
                        const char *key = json_str(oj, "key"), *sha = json_str(oj, "sha256");
                        *o = (TallyObject) { .size = json_u64(oj, "size"), .retain_until = json_u64(oj, "retain_until"),
                                             .legal_hold = json_object_get_boolean(json_object_object_get(oj, "legal_hold")) };
                        if (!key || !sha || unhexmem(sha, o->sha256, 32) < 0)
                                return -EBADMSG;
                        o->key = strdup(key);
                        o->segment = strdup(seg);
                        o->etag = strdup_field(json_str(oj, "etag"));
                        o->location = strdup_field(json_str(oj, "location"));
                        if (!o->key || !o->segment) {
                                tally_object_done(o);
                                return -ENOMEM;
                        }
                        p->n_objects++;
                }
        }
        return 0;
}

/* ---- object lists ---- */

static int object_parse(char *line, TallyObject *ret) {
        char *col[8], *save = NULL;
        TallyObject o = {};
        size_t n = 0;

        for (char *c = strtok_r(line, "\t", &save); c && n < ELEMENTSOF(col); c = strtok_r(NULL, "\t", &save))
                col[n++] = c;
        if (n != 8 || parse_uint64(col[2], &o.size) < 0 || unhexmem(col[3], o.sha256, 32) < 0 ||
            parse_uint64(col[6], &o.retain_until) < 0)
                return -EBADMSG;
        o.legal_hold = streq(col[7], "1");
        o.key = strdup(col[0]);
        o.segment = strdup(col[1]);
        o.etag = streq(col[4], "-") ? NULL : strdup(col[4]);
        o.location = streq(col[5], "-") ? NULL : strdup(col[5]);
        if (!o.key || !o.segment) {
                tally_object_done(&o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

static int object_cmp(const void *a, const void *b) {
        const TallyObject *x = a, *y = b;
        return strcmp(x->key, y->key);
}

int custody_tally_read_objects(CustodyTally *t, const char *serial, TallyObject **ret, size_t *ret_n) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        TallyObject *v = NULL;
        size_t n = 0, cap = 0, w = 0;
        char *save = NULL;
        int r;

        if (!serial_is_file_name(serial))
                return -EINVAL;
        path = path_join(t->objects_dir, serial);
        if (!path)
                return -ENOMEM;
        r = read_full_file(path, TALLY_LIST_MAX, &text, NULL);
        if (r < 0)
                return r;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (n == cap) {
                        TallyObject *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nv;
                }
                if (object_parse(line, &v[n]) >= 0)
                        n++;
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        tally_object_done(&v[i]);
                free(v);
                return r;
        }
        /* Stable order of equal keys is not guaranteed by qsort: number them. */
        if (n > 0)
                qsort(v, n, sizeof *v, object_cmp);
        for (size_t i = 0; i < n; i++) {
                if (w > 0 && streq(v[w - 1].key, v[i].key)) {
                        tally_object_done(&v[w - 1]);   /* the same object written twice */
                        v[w - 1] = v[i];
                        continue;
                }
                v[w++] = v[i];
        }
        *ret = v;
        *ret_n = w;
        return 0;
}

int custody_tally_cameras(CustodyTally *t, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d = opendir(t->objects_dir);

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char **nv;
                if (!serial_is_file_name(de->d_name))
                        continue;
                nv = realloc(v, (n + 2) * sizeof *nv);
                if (!nv)
                        break;
                v = nv;
                v[n] = strdup(de->d_name);
                v[n + 1] = NULL;
                if (!v[n])
                        break;
                n++;
        }
        closedir(d);
        if (de)
                return -ENOMEM;
        if (!v) {
                v = calloc(1, sizeof *v);
                if (!v)
                        return -ENOMEM;
        }
        qsort(v, n, sizeof *v, name_cmp);
        *ret = TAKE_PTR(v);
        return 0;
}

const TallyCounts *custody_tally_counts(CustodyTally *t) {
        return &t->counts;
}

int custody_tally_new(const char *custody_dir, const char *state_dir, CustodyTally **ret) {
        _cleanup_(custody_tally_freep) CustodyTally *t = calloc(1, sizeof *t);
        int r;

        if (!t)
                return -ENOMEM;
        t->custody_dir = strdup(custody_dir);
        t->dir = path_join(state_dir, "reconcile");
        t->objects_dir = t->dir ? path_join(t->dir, "objects") : NULL;
        if (!t->custody_dir || !t->objects_dir)
                return -ENOMEM;
        r = mkdir_p_durable(t->objects_dir, 0750);
        if (r < 0)
                return r;
        r = checkpoint_load(t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

CustodyTally *custody_tally_free(CustodyTally *t) {
        if (!t)
                return NULL;
        for (size_t b = 0; b < TALLY_BUCKETS; b++)
                while (t->pending[b]) {
                        Pending *p = t->pending[b];
                        t->pending[b] = p->next;
                        pending_free(p);
                }
        strv_free(t->dirty);
        free(t->custody_dir);
        free(t->dir);
        free(t->objects_dir);
        free(t);
        return NULL;
}
