/* SPDX-License-Identifier: Apache-2.0 */
/* camera-history.c: see camera-history.h. */
#include <json-c/json.h>
#include <limits.h>

#include "camera-history.h"
#include "fileio.h"
#include "log.h"
#include "manifest.h"

static void put_int(struct json_object *o, const char *k, int64_t v) {
        json_object_object_add(o, k, json_object_new_int64(v));
}

static char *history_path(const char *state_dir, const char *serial) {
        char *p;

        if (!serial_is_valid(serial) || asprintf(&p, "%s/cameras/%s.json", state_dir, serial) < 0)
                return NULL;
        return p;
}

/* An integer member in [min, max]; absent: 0. */
static int get_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                *ret = 0;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        *ret = json_object_get_int64(v);
        if (errno != 0 || *ret < min || *ret > max)
                return -EBADMSG;
        return 0;
}

static int history_from_json(struct json_object *o, CameraHistory *ret) {
        struct json_object *arr;
        CameraHistory h = {};
        int64_t v;

        if (!json_object_is_type(o, json_type_object) || get_int(o, "last_docked", 0, INT64_MAX, &v) < 0)
                return -EBADMSG;
        h.last_docked = (time_t) v;
        if (json_object_object_get_ex(o, "battery", &arr)) {
                if (!json_object_is_type(arr, json_type_array))
                        return -EBADMSG;
                for (size_t i = 0; i < json_object_array_length(arr) && h.n_battery < CAMERA_HISTORY_MAX; i++) {
                        struct json_object *e = json_object_array_get_idx(arr, i);
                        BatterySample s = {};
                        int64_t t, health, cycles, full, design;

                        if (!json_object_is_type(e, json_type_object) ||
                            get_int(e, "time", 0, INT64_MAX, &t) < 0 ||
                            get_int(e, "health_permille", 0, UINT_MAX, &health) < 0 ||
                            get_int(e, "cycles", 0, UINT_MAX, &cycles) < 0 ||
                            get_int(e, "full_mah", 0, UINT_MAX, &full) < 0 ||
                            get_int(e, "design_mah", 0, UINT_MAX, &design) < 0)
                                return -EBADMSG;
                        s = (BatterySample) {
                                .time = (time_t) t,
                                .health_permille = (unsigned) health,
                                .cycles = (unsigned) cycles,
                                .full_mah = (unsigned) full,
                                .design_mah = (unsigned) design,
                        };
                        h.battery[h.n_battery++] = s;
                }
        }
        *ret = h;
        return 0;
}

static int history_parse(const char *text, size_t size, CameraHistory *ret) {
        struct json_object *o;
        int r;

        if (memchr(text, 0, size))
                return -EBADMSG;
        o = json_tokener_parse(text);
        if (!o)
                return -EBADMSG;
        r = history_from_json(o, ret);
        json_object_put(o);
        return r;
}

int camera_history_load(const char *state_dir, const char *serial, CameraHistory *ret) {
        _cleanup_free_ char *p = history_path(state_dir, serial), *text = NULL;
        size_t size;
        int r;

        if (!p)
                return -EINVAL;
        r = read_full_file(p, 256 * 1024, &text, &size);
        if (r == -ENOENT) {
                *ret = (CameraHistory) {};
                return 0;
        }
        if (r == -EFBIG)
                r = -EBADMSG;
        if (r >= 0)
                r = history_parse(text, size, ret);
        if (r == -EBADMSG)
                log_warning("%s: not a camera history dockd wrote; starting a new one.", p);
        return r;
}

int camera_history_save(const char *state_dir, const char *serial, const CameraHistory *h) {
        _cleanup_free_ char *p = history_path(state_dir, serial);
        struct json_object *o, *arr;
        const char *s;
        int r;

        if (!p)
                return -EINVAL;
        r = mkdir_parents_durable(p, 0750);
        if (r < 0)
                return r;
        o = json_object_new_object();
        arr = json_object_new_array();
        json_object_object_add(o, "serial", json_object_new_string(serial));
        json_object_object_add(o, "last_docked", json_object_new_int64(h->last_docked));
        for (size_t i = 0; i < h->n_battery; i++) {
                struct json_object *e = json_object_new_object();
                put_int(e, "time", h->battery[i].time);
                put_int(e, "health_permille", h->battery[i].health_permille);
                put_int(e, "cycles", h->battery[i].cycles);
                put_int(e, "full_mah", h->battery[i].full_mah);
                put_int(e, "design_mah", h->battery[i].design_mah);
                json_object_array_add(arr, e);
        }
        json_object_object_add(o, "battery", arr);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
        r = write_file_atomic(p, s, strlen(s), 0640);
        json_object_put(o);
        return r;
}
