/* SPDX-License-Identifier: Apache-2.0 */
/* docking-record.c: see docking-record.h. */
#include <json-c/json.h>

#include "docking-record.h"
#include "fileio.h"
#include "log.h"
#include "manifest.h"

#define DOCKING_RECORD_MAX (64 * 1024)

static char *record_path(const char *state_dir, unsigned bay) {
        char *p;
        return asprintf(&p, "%s/bays/bay-%u.json", state_dir, bay) < 0 ? NULL : p;
}

void docking_record_done(DockingRecord *r) {
        free(r->serial);
        strv_free(r->reported);
        *r = (DockingRecord) { .docked_at = -1 };
}

int docking_record_save(const char *state_dir, unsigned bay, const DockingRecord *r) {
        _cleanup_free_ char *p = record_path(state_dir, bay);
        struct json_object *o = json_object_new_object(), *codes = json_object_new_array();
        const char *s;
        int k = -ENOMEM;

        if (!p || !o || !codes)
                goto done;
        json_object_object_add(o, "serial", json_object_new_string(r->serial));
        json_object_object_add(o, "docked_at", json_object_new_int64((int64_t) r->docked_at));
        json_object_object_add(o, "report_id", json_object_new_string(r->report_id));
        for (char **c = r->reported; c && *c; c++)
                json_object_array_add(codes, json_object_new_string(*c));
        json_object_object_add(o, "reported", codes);
        codes = NULL;
        k = mkdir_parents_durable(p, 0750);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (k >= 0)
                k = write_file_atomic(p, s, strlen(s), 0640);
done:
        json_object_put(o);
        json_object_put(codes);
        return k;
}

/* A finding code, as health.c makes them: [a-z0-9-], 1..64 characters. */
static bool finding_code_is_valid(const char *s) {
        size_t n = strlen(s);

        return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* A report id: "" or a UUID's 36 characters of [0-9a-f-]. */
static bool report_id_is_valid(const char *s) {
        size_t n = strlen(s);

        return n == 0 || (n == 36 && strspn(s, "0123456789abcdef-") == n);
}

static int record_from_json(struct json_object *o, DockingRecord *r) {
        struct json_object *v, *arr;
        size_t n;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "serial", &v) ||
            !json_object_is_type(v, json_type_string) || !serial_is_valid(json_object_get_string(v)))
                return -EBADMSG;
        r->serial = strdup(json_object_get_string(v));
        if (!r->serial)
                return -ENOMEM;
        if (json_object_object_get_ex(o, "docked_at", &v)) {
                if (!json_object_is_type(v, json_type_int))
                        return -EBADMSG;
                r->docked_at = (time_t) json_object_get_int64(v);
                if (r->docked_at < -1)
                        return -EBADMSG;
        }
        if (json_object_object_get_ex(o, "report_id", &v)) {
                if (!json_object_is_type(v, json_type_string) || !report_id_is_valid(json_object_get_string(v)))
                        return -EBADMSG;
                snprintf(r->report_id, sizeof r->report_id, "%s", json_object_get_string(v));
        }
        if (!json_object_object_get_ex(o, "reported", &arr))
                return 0;
        if (!json_object_is_type(arr, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(arr);
        r->reported = calloc(n + 1, sizeof *r->reported);
        if (!r->reported)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *c = json_object_array_get_idx(arr, i);

                if (!json_object_is_type(c, json_type_string) || !finding_code_is_valid(json_object_get_string(c)))
                        return -EBADMSG;
                r->reported[i] = strdup(json_object_get_string(c));
                if (!r->reported[i])
                        return -ENOMEM;
        }
        return 0;
}

int docking_record_load(const char *state_dir, unsigned bay, DockingRecord *ret) {
        _cleanup_free_ char *p = record_path(state_dir, bay), *text = NULL;
        struct json_object *o = NULL;
        DockingRecord r = { .docked_at = -1 };
        size_t size;
        int k;

        if (!p)
                return -ENOMEM;
        k = read_full_file(p, DOCKING_RECORD_MAX, &text, &size);
        if (k == -EFBIG)
                k = -EBADMSG;
        if (k >= 0 && (memchr(text, 0, size) || !(o = json_tokener_parse(text))))
                k = -EBADMSG;
        if (k >= 0)
                k = record_from_json(o, &r);
        json_object_put(o);
        if (k < 0) {
                docking_record_done(&r);
                if (k == -EBADMSG)
                        log_warning("%s: not a docking record dockd wrote; the docking is not resumed.", p);
                return k;
        }
        *ret = r;
        return 0;
}

int docking_record_remove(const char *state_dir, unsigned bay) {
        _cleanup_free_ char *p = record_path(state_dir, bay);

        if (!p)
                return -ENOMEM;
        if (unlink(p) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}
