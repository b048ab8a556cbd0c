/* SPDX-License-Identifier: Apache-2.0 */
/* spool.c: see spool.h. The state file is small "key=value" text written by us,
 * read back strictly anyway: a damaged state file is reported, never guessed at. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "chain.h"
#include "fileio.h"
#include "log.h"
#include "manifest.h"
#include "message-ids.h"
#include "parse-util.h"
#include "spool.h"

struct Spool {
        char *dir;
        uint64_t usage;
        uint64_t quota, min_free;
        bool full;                  /* pulls paused */
        spool_room_t room;
        void *room_userdata;
};

static const char *const stage_names[] = {
        [SEGMENT_PULLING] = "pulling",
        [SEGMENT_PULLED] = "pulled",
        [SEGMENT_CONFIRMED] = "confirmed",
        [SEGMENT_DELETING] = "deleting",
        [SEGMENT_DELETED] = "deleted",
};

const char *segment_stage_to_string(SegmentStage s) {
        return s >= 0 && s < _SEGMENT_STAGE_MAX ? stage_names[s] : NULL;
}

static SegmentStage segment_stage_from_string(const char *s) {
        for (SegmentStage i = 0; i < _SEGMENT_STAGE_MAX; i++)
                if (streq(s, stage_names[i]))
                        return i;
        return _SEGMENT_STAGE_INVALID;
}

void segment_state_done(SegmentState *s) {
        free(s->reason);
        free(s->categories);
        *s = (SegmentState) {};
}

const char *spool_dir(Spool *s) {
        return s->dir;
}

void segment_variant(const uint8_t manifest_sha256[32], char ret[SEGMENT_VARIANT_MAX]) {
        ret[0] = '~';
        hexmem(manifest_sha256, 8, ret + 1);
}

const char *segment_name(const SegmentId *id, char *buf, size_t size) {
        snprintf(buf, size, "%s/%06" PRIu32 "%s", id->recording, id->index, strempty(id->variant));
        return buf;
}

char *spool_path(Spool *s, const SegmentId *id, const char *ext) {
        char *p;

        if (asprintf(&p, "%s/%s/%s/%06" PRIu32 "%s.%s", s->dir, id->serial, id->recording, id->index,
                     strempty(id->variant), ext) < 0)
                return NULL;
        return p;
}

/* "<index:06>[~<16 hex>].state": the index and the variant ("" for none). */
static bool parse_state_name(const char *name, uint32_t *ret_index, char ret_variant[SEGMENT_VARIANT_MAX]) {
        size_t n = strlen(name);
        uint64_t idx;
        char num[7];

        if (!endswith(name, ".state") || (n != 12 && n != 12 + SEGMENT_VARIANT_MAX - 1))
                return false;
        memcpy(num, name, 6);
        num[6] = 0;
        if (parse_uint64(num, &idx) < 0)
                return false;
        ret_variant[0] = 0;
        if (n > 12) {
                if (name[6] != '~')
                        return false;
                for (size_t i = 7; i < 6 + SEGMENT_VARIANT_MAX - 1; i++)
                        if (!strchr("0123456789abcdef", name[i]))
                                return false;
                memcpy(ret_variant, name + 6, SEGMENT_VARIANT_MAX - 1);
                ret_variant[SEGMENT_VARIANT_MAX - 1] = 0;
        }
        *ret_index = (uint32_t) idx;
        return true;
}

int spool_prepare(Spool *s, const SegmentId *id) {
        _cleanup_free_ char *p = spool_path(s, id, "state");

        if (!p)
                return -ENOMEM;
        return mkdir_parents_durable(p, 0750);
}

int spool_write_file(Spool *s, const SegmentId *id, const char *ext, const void *data, size_t size) {
        _cleanup_free_ char *p = spool_path(s, id, ext);
        struct stat st;
        int r;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) >= 0)
                spool_account(s, -(int64_t) st.st_size);
        r = write_file_atomic(p, data, size, 0640);
        if (r >= 0)
                spool_account(s, (int64_t) size);
        return r;
}

int64_t spool_remove_data(Spool *s, const SegmentId *id) {
        static const char *const exts[] = { "mp4", "mp4.part", "man", "p7s" };
        int64_t freed = 0;

        for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                _cleanup_free_ char *p = spool_path(s, id, exts[i]);
                struct stat st;

                if (!p)
                        return -ENOMEM;
                if (stat(p, &st) < 0)
                        continue;
                if (unlink(p) < 0 && errno != ENOENT)
                        return -errno;
                freed += st.st_size;
        }
        spool_account(s, -freed);
        if (freed > 0 && s->room)
                s->room(s, s->room_userdata);   /* paused pulls look again */
        return freed;
}

uint64_t spool_usage(Spool *s) {
        return s->usage;
}

void spool_account(Spool *s, int64_t delta) {
        if (delta < 0 && (uint64_t) -delta > s->usage)
                s->usage = 0;
        else
                s->usage += (uint64_t) delta;
}

int spool_fs_free(Spool *s, uint64_t *ret) {
        struct statvfs sv;

        if (statvfs(s->dir, &sv) < 0)
                return -errno;
        *ret = (uint64_t) sv.f_bavail * sv.f_frsize;
        return 0;
}

/* ---- room ---- */

void spool_set_limits(Spool *s, uint64_t quota, uint64_t min_free) {
        s->quota = quota;
        s->min_free = min_free;
}

void spool_set_room_handler(Spool *s, spool_room_t cb, void *userdata) {
        s->room = cb;
        s->room_userdata = userdata;
}

bool spool_is_full(Spool *s) {
        return s->full;
}

bool spool_has_room(Spool *s, uint64_t need) {
        uint64_t fs_free = UINT64_MAX;
        bool room;

        (void) spool_fs_free(s, &fs_free);
        room = s->usage + need <= s->quota && fs_free >= s->min_free + need;
        if (!room && !s->full) {
                s->full = true;
                log_full_errno_ctx(LOG_WARNING, 0, (&(LogContext) { .message_id = DOCKD_MESSAGE_SPOOL_FULL }),
                                   "Spool full (%" PRIu64 " MiB used of %" PRIu64 " MiB, %" PRIu64
                                   " MiB free on disk): pulls paused until uploads drain it.",
                                   s->usage / MiB, s->quota / MiB, fs_free / MiB);
        } else if (room && s->full) {
                s->full = false;
                log_notice("Spool has room again; pulls resume.");
                if (s->room)
                        s->room(s, s->room_userdata);
        }
        return room;
}

static uint64_t dir_usage(const char *path, unsigned depth) {
        _cleanup_(closedirp) DIR *d = opendir(path);
        uint64_t sum = 0;
        struct dirent *e;

        if (!d)
                return 0;
        while ((e = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (e->d_name[0] == '.' || endswith(e->d_name, ".state"))
                        continue;
                p = path_join(path, e->d_name);
                if (!p || lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode) && depth > 0)
                        sum += dir_usage(p, depth - 1);
                else if (S_ISREG(st.st_mode))
                        sum += (uint64_t) st.st_size;
        }
        return sum;
}

uint64_t spool_camera_usage(Spool *s, const char *serial) {
        _cleanup_free_ char *p = path_join(s->dir, serial);

        return p ? dir_usage(p, 1) : 0;
}

/* ---- state files ---- */

int spool_state_save(Spool *s, const SegmentId *id, const SegmentState *st) {
        _cleanup_free_ char *p = spool_path(s, id, "state"), *text = NULL, *missing = NULL;
        char sha[65], man[65], owed[65];
        int n;

        if (!p)
                return -ENOMEM;
        /* chain_owed (and when its predecessor was first missing) first: a file cut
         * short anywhere after them misses a required key. */
        if (st->chain_owed && st->chain_missing_since > 0 &&
            asprintf(&missing, "chain_missing_since=%" PRIu64 "\n", st->chain_missing_since) < 0)
                return -ENOMEM;
        n = asprintf(&text,
                     "%s%s%s%s"
                     "stage=%s\n"
                     "quarantined=%d\n"
                     "reason=%s\n"
                     "size=%" PRIu64 "\n"
                     "sha256=%s\n"
                     "manifest_sha256=%s\n"
                     "categories=%s\n"
                     "retain_until=%" PRIu64 "\n"
                     "legal_hold=%d\n"
                     "evidentiary=%d\n"
                     "trusted=%d\n"
                     "start_time=%" PRIu64 "\n",
                     st->chain_owed ? "chain_owed=" : "", st->chain_owed ? hex_sha256(st->chain_prev, owed) : "",
                     st->chain_owed ? "\n" : "", missing ?: "",
                     segment_stage_to_string(st->stage), st->quarantined, st->reason ?: "", st->size,
                     hex_sha256(st->sha256, sha), hex_sha256(st->manifest_sha256, man),
                     st->categories ?: "", st->retain_until, st->legal_hold, st->evidentiary, st->trusted,
                     st->start_time);
        if (n < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, (size_t) n, 0640);
}

static int state_assign(SegmentState *st, const char *key, const char *value) {
        uint64_t v;
        int r;

        if (streq(key, "stage")) {
                st->stage = segment_stage_from_string(value);
                return st->stage < 0 ? -EBADMSG : 0;
        }
        if (streq(key, "reason"))
                return (st->reason = isempty(value) ? NULL : strdup(value), !isempty(value) && !st->reason) ? -ENOMEM : 0;
        if (streq(key, "categories"))
                return (st->categories = strdup(value)) ? 0 : -ENOMEM;
        if (streq(key, "sha256"))
                return unhex_sha256(value, st->sha256) < 0 ? -EBADMSG : 0;
        if (streq(key, "manifest_sha256"))
                return unhex_sha256(value, st->manifest_sha256) < 0 ? -EBADMSG : 0;
        if (streq(key, "chain_owed")) {
                st->chain_owed = true;
                return unhex_sha256(value, st->chain_prev) < 0 ? -EBADMSG : 0;
        }
        r = parse_uint64(value, &v);
        if (r < 0)
                return -EBADMSG;
        if (streq(key, "quarantined") || streq(key, "legal_hold") || streq(key, "evidentiary") ||
            streq(key, "trusted")) {
                if (v > 1)
                        return -EBADMSG;
                *(streq(key, "quarantined") ? &st->quarantined
                  : streq(key, "legal_hold") ? &st->legal_hold
                  : streq(key, "trusted") ? &st->trusted : &st->evidentiary) = v;
        } else if (streq(key, "size"))
                st->size = v;
        else if (streq(key, "retain_until"))
                st->retain_until = v;
        else if (streq(key, "start_time"))
                st->start_time = v;
        else if (streq(key, "chain_missing_since"))
                st->chain_missing_since = v;
        else
                return -EBADMSG;
        return 0;
}

/* Every key a state file has, each exactly once, as spool_state_save() writes it:
 * a file cut short (say after "stage=confirmed") is damaged, not a state. The
 * optional ones (written only when they say something) come last. */
static const char *const state_keys[] = { "stage", "quarantined", "reason", "size", "sha256", "manifest_sha256",
                                          "categories", "retain_until", "legal_hold", "evidentiary", "trusted",
                                          "start_time", "chain_owed", "chain_missing_since" };
#define STATE_KEYS_REQUIRED 12

/* text (NUL-terminated, changed) into *st; -EBADMSG with the bad line in *ret_line (0: a key missing). */
static int state_parse(char *text, SegmentState *st, unsigned *ret_line) {
        unsigned seen = 0, n = 0;
        char *next;
        int r;

        for (char *line = text; *line; line = next) {
                char *eq;
                size_t k = 0;

                next = strchrnul(line, '\n');
                if (*next)
                        *next++ = 0;
                *ret_line = ++n;
                eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = 0;
                while (k < ELEMENTSOF(state_keys) && !streq(line, state_keys[k]))
                        k++;
                if (k == ELEMENTSOF(state_keys) || (seen & (1u << k)))
                        return -EBADMSG;
                seen |= 1u << k;
                r = state_assign(st, line, eq + 1);
                if (r < 0)
                        return r;
        }
        *ret_line = 0;
        return (seen & ((1u << STATE_KEYS_REQUIRED) - 1)) == (1u << STATE_KEYS_REQUIRED) - 1 ? 0 : -EBADMSG;
}

int spool_state_load(Spool *s, const SegmentId *id, SegmentState *ret) {
        _cleanup_free_ char *p = spool_path(s, id, "state"), *text = NULL;
        SegmentState st = { .stage = _SEGMENT_STAGE_INVALID };
        unsigned line = 0;
        size_t size;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file(p, 16 * 1024, &text, &size);
        if (r == -EFBIG)
                r = -EBADMSG;
        if (r >= 0 && memchr(text, 0, size))
                r = -EBADMSG;
        if (r >= 0)
                r = state_parse(text, &st, &line);
        if (r < 0)
                segment_state_done(&st);
        /* Never guessed at: the segment is pulled and verified again, and nothing is
         * deleted from the camera on its account until a good state replaces it. */
        if (r == -EBADMSG && line > 0)
                log_warning("%s:%u: not a segment state dockd wrote; ignored, nothing is deleted from the camera "
                            "on its account.", p, line);
        else if (r == -EBADMSG)
                log_warning("%s: not a segment state dockd wrote (a key is missing, or it is too large); ignored, "
                            "nothing is deleted from the camera on its account.", p);
        if (r < 0)
                return r;
        *ret = st;
        return 0;
}

int spool_chain_head(Spool *s, const char *serial, const char *recording, uint32_t index, const uint8_t prev[32],
                     ChainHead *ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *dir = NULL;
        struct dirent *e;
        bool found = false, linked = false;
        ChainHead best = {};

        if (asprintf(&dir, "%s/%s/%s", s->dir, serial, recording) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? -ENOENT : -errno;
        while ((e = readdir(d)) && !linked) {
                char variant[SEGMENT_VARIANT_MAX];
                uint32_t idx;
                SegmentState st;

                if (!parse_state_name(e->d_name, &idx, variant) || idx >= index || (found && idx < best.index))
                        continue;
                SegmentId id = { .serial = serial, .recording = recording, .index = idx,
                                 .variant = variant[0] ? variant : NULL };
                if (spool_state_load(s, &id, &st) < 0)
                        continue;
                if (st.trusted && st.stage >= SEGMENT_PULLED) {
                        linked = prev && idx + 1 == index && memcmp(st.manifest_sha256, prev, 32) == 0;
                        if (linked || !found || idx > best.index) {
                                best.index = idx;
                                memcpy(best.manifest_sha256, st.manifest_sha256, 32);
                                found = true;
                        }
                }
                segment_state_done(&st);
        }
        if (!found)
                return -ENOENT;
        *ret = best;
        return 0;
}

/* ---- scanning ---- */

static int scan_dir(const char *path, DIR **ret) {
        DIR *d = opendir(path);

        if (!d)
                return -errno;
        *ret = d;
        return 0;
}

/* Walk <spool>/<serial>/<recording>/<index>.<ext>: sum data sizes, remove stray
 * temporary files of interrupted atomic writes, and report each state file. */
static int spool_walk(Spool *s, const char *serial, spool_segment_cb cb, void *userdata, bool count) {
        _cleanup_(closedirp) DIR *top = NULL;
        struct dirent *a;
        int r;

        r = scan_dir(s->dir, &top);
        if (r < 0)
                return r;
        while ((a = readdir(top))) {
                _cleanup_(closedirp) DIR *sd = NULL;
                _cleanup_free_ char *sp = NULL;
                struct dirent *b;

                if (a->d_name[0] == '.' || !serial_is_valid(a->d_name) || (serial && !streq(serial, a->d_name)))
                        continue;
                sp = path_join(s->dir, a->d_name);
                if (!sp)
                        return -ENOMEM;
                if (scan_dir(sp, &sd) < 0)
                        continue;
                while ((b = readdir(sd))) {
                        _cleanup_(closedirp) DIR *rd = NULL;
                        _cleanup_free_ char *rp = NULL;
                        struct dirent *c;

                        if (b->d_name[0] == '.' || !recording_id_is_valid(b->d_name))
                                continue;
                        rp = path_join(sp, b->d_name);
                        if (!rp)
                                return -ENOMEM;
                        if (scan_dir(rp, &rd) < 0)
                                continue;
                        while ((c = readdir(rd))) {
                                _cleanup_free_ char *fp = path_join(rp, c->d_name);
                                char variant[SEGMENT_VARIANT_MAX];
                                struct stat st;
                                uint32_t idx;

                                if (!fp)
                                        return -ENOMEM;
                                if (c->d_name[0] == '.' || stat(fp, &st) < 0 || !S_ISREG(st.st_mode))
                                        continue;
                                if (strstr(c->d_name, ".tmp.")) {
                                        (void) unlink(fp);
                                        continue;
                                }
                                if (count && !endswith(c->d_name, ".state"))
                                        s->usage += (uint64_t) st.st_size;
                                if (!cb || !parse_state_name(c->d_name, &idx, variant))
                                        continue;
                                SegmentId id = { .serial = a->d_name, .recording = b->d_name, .index = idx,
                                                 .variant = variant[0] ? variant : NULL };
                                SegmentState state;
                                if (spool_state_load(s, &id, &state) < 0)
                                        continue;   /* the caller's scan reports unreadable states itself */
                                r = cb(&id, &state, userdata);
                                segment_state_done(&state);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

int spool_foreach(Spool *s, spool_segment_cb cb, void *userdata) {
        return spool_walk(s, NULL, cb, userdata, false);
}

int spool_foreach_camera(Spool *s, const char *serial, spool_segment_cb cb, void *userdata) {
        return spool_walk(s, serial, cb, userdata, false);
}

int spool_open(const char *dir, Spool **ret) {
        _cleanup_(spool_freep) Spool *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->dir = strdup(dir);
        if (!s->dir)
                return -ENOMEM;
        s->quota = UINT64_MAX;
        r = mkdir_p_durable(dir, 0750);
        if (r < 0)
                return r;
        r = spool_walk(s, NULL, NULL, NULL, true);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Spool *spool_free(Spool *s) {
        if (!s)
                return NULL;
        free(s->dir);
        free(s);
        return NULL;
}
