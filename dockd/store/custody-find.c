/* SPDX-License-Identifier: Apache-2.0 */
/* custody-find.c: custody_log_find() (custody.h). A plain scan of the files
 * still on this dock: it is asked only when a crash left a step half done
 * (a deletion recorded in custody but not in the segment's state), rarely and
 * for one record. */
#include <json-c/json.h>

#include "custody-files.h"
#include "fileio.h"

#define CUSTODY_FILE_MAX (256 * 1024 * 1024)

static bool line_is(const char *line, const char *event, const char *camera, const char *segment) {
        struct json_object *j = json_tokener_parse(line), *v;
        bool match;

        if (!j)
                return false;
        match = json_object_object_get_ex(j, "event", &v) && streq_ptr(json_object_get_string(v), event) &&
                json_object_object_get_ex(j, "camera", &v) && streq_ptr(json_object_get_string(v), camera) &&
                json_object_object_get_ex(j, "segment", &v) && streq_ptr(json_object_get_string(v), segment);
        json_object_put(j);
        return match;
}

static int file_has(const char *path, const char *event, const char *camera, const char *segment) {
        _cleanup_free_ char *text = NULL;
        char *line, *save = NULL;
        int r;

        r = read_full_file(path, CUSTODY_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (strstr(line, segment) && line_is(line, event, camera, segment))
                        return 1;
        return 0;
}

int custody_log_find(CustodyLog *l, const char *event, const char *camera, const char *segment) {
        SealedList s = {};
        int r;

        r = file_has(l->current_path, event, camera, segment);
        if (r != 0)
                return r;
        r = custody_sealed_list_read(l->sealed_dir, false, &s);
        for (size_t i = s.n; r >= 0 && i > 0; i--) {   /* newest first */
                r = file_has(s.entries[i - 1].path, event, camera, segment);
                if (r > 0)
                        break;
        }
        custody_sealed_list_done(&s);
        return r;
}
