/* SPDX-License-Identifier: Apache-2.0 */
/* holds.c: see holds.h. The file is a JSON array of objects {camera,
 * recording, reference, since, uid, user}, written whole, atomically. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "holds.h"
#include "log.h"
#include "manifest.h"
#include "parse-util.h"

#define HOLDS_MAX_FILE (16u << 20)

struct Holds {
        char *path;
        Hold *items;
        size_t n;
        bool unreadable;             /* holds everything; never overwritten */
        uint32_t generation;
};

static void hold_done(Hold *h) {
        free(h->camera);
        free(h->recording);
        free(h->reference);
        free(h->user);
}

static int hold_copy(const Hold *from, Hold *ret) {
        *ret = (Hold) {
                .camera = strdup(from->camera), .recording = strdup(from->recording),
                .reference = strdup(from->reference), .since = from->since, .uid = from->uid,
                .user = strdup(from->user ?: ""),
        };
        if (!ret->camera || !ret->recording || !ret->reference || !ret->user) {
                hold_done(ret);
                return -ENOMEM;
        }
        return 0;
}

bool hold_reference_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 128 || !utf8_is_valid(s, n))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
                        return false;
        return true;
}

static const char *member(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

/* One element of the file, checked as strictly as a method's arguments. */
static int hold_parse(struct json_object *o, Hold *ret) {
        struct json_object *since, *uid;
        Hold h = {
                .camera = (char *) member(o, "camera"), .recording = (char *) member(o, "recording"),
                .reference = (char *) member(o, "reference"), .user = (char *) member(o, "user"),
        };

        if (!json_object_is_type(o, json_type_object) || !serial_is_valid(h.camera) ||
            !recording_id_is_valid(h.recording) || !hold_reference_is_valid(h.reference) || !h.user ||
            !json_object_object_get_ex(o, "since", &since) || !json_object_is_type(since, json_type_int) ||
            !json_object_object_get_ex(o, "uid", &uid) || !json_object_is_type(uid, json_type_int) ||
            json_object_get_int64(since) < 0 || json_object_get_int64(uid) < 0 ||
            json_object_get_int64(uid) > UINT32_MAX)
                return -EBADMSG;
        h.since = (uint64_t) json_object_get_int64(since);
        h.uid = (uid_t) json_object_get_int64(uid);
        return hold_copy(&h, ret);
}

static int holds_parse(Holds *h, const char *text) {
        struct json_object *arr = json_tokener_parse(text);
        int r = 0;

        if (!arr || !json_object_is_type(arr, json_type_array)) {
                json_object_put(arr);
                return -EBADMSG;
        }
        h->items = calloc(MAX(json_object_array_length(arr), 1u), sizeof(Hold));
        if (!h->items)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < json_object_array_length(arr); i++) {
                r = hold_parse(json_object_array_get_idx(arr, i), &h->items[h->n]);
                if (r >= 0)
                        h->n++;
        }
        json_object_put(arr);
        return r;
}

int holds_load(const char *state_dir, Holds **ret) {
        _cleanup_(holds_freep) Holds *h = calloc(1, sizeof(Holds));
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        if (!h)
                return -ENOMEM;
        h->path = path_join(state_dir, "holds.json");
        if (!h->path)
                return -ENOMEM;
        r = read_full_file(h->path, HOLDS_MAX_FILE, &text, &size);
        if (r == -ENOENT) {
                *ret = TAKE_PTR(h);
                return 0;
        }
        if (r >= 0)
                r = strlen(text) == size ? holds_parse(h, text) : -EBADMSG;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_error_errno(r, "Cannot read the holds file %s (%m): nothing is deleted from any camera until it "
                                "is repaired or removed and dockd restarted.", h->path);
                h->unreadable = true;
        }
        *ret = TAKE_PTR(h);
        return 0;
}

Holds *holds_free(Holds *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n; i++)
                hold_done(&h->items[i]);
        free(h->items);
        free(h->path);
        free(h);
        return NULL;
}

const Hold *holds_naming(Holds *h, const char *camera, const char *recording) {
        for (size_t i = 0; h && i < h->n; i++)
                if (streq(h->items[i].camera, camera) && streq(h->items[i].recording, recording))
                        return &h->items[i];
        return NULL;
}

bool holds_recording_named(Holds *h, const char *camera, const char *recording) {
        return holds_naming(h, camera, recording);
}

bool holds_recording_held(Holds *h, const char *camera, const char *recording) {
        if (!h || h->unreadable)
                return true;
        return holds_recording_named(h, camera, recording);
}

const Hold *holds_find(Holds *h, const char *camera, const char *recording, const char *reference) {
        for (size_t i = 0; i < h->n; i++)
                if (streq(h->items[i].camera, camera) && streq(h->items[i].recording, recording) &&
                    streq(h->items[i].reference, reference))
                        return &h->items[i];
        return NULL;
}

/* Write items[0..n) but the one at skip (n: none), durably. */
static int holds_save(Holds *h, size_t n, size_t skip) {
        struct json_object *arr = json_object_new_array();
        const char *text;
        int r;

        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const Hold *x = &h->items[i];
                struct json_object *o;

                if (i == skip)
                        continue;
                o = json_object_new_object();
                json_object_object_add(o, "camera", json_object_new_string(x->camera));
                json_object_object_add(o, "recording", json_object_new_string(x->recording));
                json_object_object_add(o, "reference", json_object_new_string(x->reference));
                json_object_object_add(o, "since", json_object_new_int64((int64_t) x->since));
                json_object_object_add(o, "uid", json_object_new_int64((int64_t) x->uid));
                json_object_object_add(o, "user", json_object_new_string(x->user));
                json_object_array_add(arr, o);
        }
        text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY);
        r = text ? write_file_atomic(h->path, text, strlen(text), 0640) : -ENOMEM;
        json_object_put(arr);
        return r;
}

int holds_add(Holds *h, const Hold *hold) {
        Hold *items;
        int r;

        if (h->unreadable)
                return -EBUSY;
        items = reallocarray(h->items, h->n + 1, sizeof(Hold));
        if (!items)
                return -ENOMEM;
        h->items = items;
        r = hold_copy(hold, &h->items[h->n]);
        if (r < 0)
                return r;
        r = holds_save(h, h->n + 1, SIZE_MAX);
        if (r < 0) {
                hold_done(&h->items[h->n]);
                return r;
        }
        h->n++;
        h->generation++;
        return 0;
}

int holds_remove(Holds *h, const char *camera, const char *recording, const char *reference) {
        const Hold *x = holds_find(h, camera, recording, reference);
        size_t i;
        int r;

        if (h->unreadable)
                return -EBUSY;
        if (!x)
                return -ENOENT;
        i = (size_t) (x - h->items);
        r = holds_save(h, h->n, i);
        if (r < 0)
                return r;
        hold_done(&h->items[i]);
        memmove(&h->items[i], &h->items[i + 1], (h->n - i - 1) * sizeof(Hold));
        h->n--;
        h->generation++;
        return 0;
}

uint32_t holds_generation(Holds *h) {
        return h ? h->generation : 0;
}

int holds_append(Holds *h, sd_bus_message *reply) {
        int r = sd_bus_message_open_container(reply, 'a', "(ssstus)");

        if (r < 0)
                return r;
        for (size_t i = 0; h && i < h->n; i++) {
                const Hold *x = &h->items[i];

                r = sd_bus_message_append(reply, "(ssstus)", x->camera, x->recording, x->reference, x->since,
                                          (uint32_t) x->uid, x->user);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}
