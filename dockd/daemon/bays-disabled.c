/* SPDX-License-Identifier: Apache-2.0 */
/* bays-disabled.c: see bays-disabled.h. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "bays-disabled.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

#define BAYS_DISABLED_FILE "bays-disabled.json"

int bays_disabled_load(const char *state_dir, bool *disabled, unsigned n) {
        _cleanup_free_ char *path = path_join(state_dir, BAYS_DISABLED_FILE), *text = NULL;
        struct json_object *arr;
        bool set[64] = {};
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, 64 * 1024, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %m", path);
        arr = strlen(text) == size ? json_tokener_parse(text) : NULL;
        r = arr && json_object_is_type(arr, json_type_array) ? 0 : -EBADMSG;
        for (size_t i = 0; r >= 0 && i < json_object_array_length(arr); i++) {
                struct json_object *v = json_object_array_get_idx(arr, i);
                int64_t bay = json_object_get_int64(v);

                if (!json_object_is_type(v, json_type_int) || bay < 1 || bay > (int64_t) n || bay > 64)
                        r = -EBADMSG;
                else
                        set[bay - 1] = true;
        }
        json_object_put(arr);
        if (r < 0)
                return log_error_errno(r, "Cannot parse %s (not an array of bay numbers): %m", path);
        memcpy(disabled, set, n * sizeof(bool));
        return 0;
}

int bays_disabled_save(const char *state_dir, const bool *disabled, unsigned n) {
        _cleanup_free_ char *path = path_join(state_dir, BAYS_DISABLED_FILE);
        struct json_object *arr = json_object_new_array();
        const char *text;
        int r;

        if (!path || !arr) {
                json_object_put(arr);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < n; i++)
                if (disabled[i])
                        json_object_array_add(arr, json_object_new_int((int) i + 1));
        text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
        r = text ? write_file_atomic(path, text, strlen(text), 0640) : -ENOMEM;
        json_object_put(arr);
        return r;
}
