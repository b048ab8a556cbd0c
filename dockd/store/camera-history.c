/* SPDX-License-Identifier: Apache-2.0 */
/* camera-history.c: see camera-history.h. */
#include <json-c/json.h>

#include "camera-history.h"
#include "fileio.h"
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

int camera_history_load(const char *state_dir, const char *serial, CameraHistory *ret) {
        _cleanup_free_ char *p = history_path(state_dir, serial), *text = NULL;
        struct json_object *o, *v, *arr;
        CameraHistory h = {};
        int r;

        if (!p)
                return -EINVAL;
        r = read_full_file(p, 256 * 1024, &text, NULL);
        if (r == -ENOENT) {
                *ret = h;
                return 0;
        }
        if (r < 0)
                return r;
        o = json_tokener_parse(text);
        if (!o)
                return -EBADMSG;
        if (json_object_object_get_ex(o, "last_docked", &v))
                h.last_docked = (time_t) json_object_get_int64(v);
        if (json_object_object_get_ex(o, "battery", &arr) && json_object_is_type(arr, json_type_array))
                for (size_t i = 0; i < json_object_array_length(arr) && h.n_battery < CAMERA_HISTORY_MAX; i++) {
                        struct json_object *e = json_object_array_get_idx(arr, i), *f;
                        BatterySample s = {};
#define GET(k, field) if (json_object_object_get_ex(e, k, &f)) s.field = json_object_get_int64(f)
                        GET("time", time);
                        GET("health_permille", health_permille);
                        GET("cycles", cycles);
                        GET("full_mah", full_mah);
                        GET("design_mah", design_mah);
#undef GET
                        h.battery[h.n_battery++] = s;
                }
        json_object_put(o);
        *ret = h;
        return 0;
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
