/* SPDX-License-Identifier: Apache-2.0 */
/* object-key.c: see object-key.h. */
#include <inttypes.h>

#include "object-key.h"

/* What follows the prefix: nothing when there is none. */
static const char *separator(const char *prefix) {
        return *prefix ? "/" : "";
}

char *object_key_segment(const char *prefix, const char *area, const char *serial, const char *recording,
                         uint32_t index, const char *variant, const char *ext) {
        char *k;

        if (asprintf(&k, "%s%s%s/%s/%s/%06" PRIu32 "%s.%s", prefix, separator(prefix), area, serial, recording, index,
                     variant ?: "", ext) < 0)
                return NULL;
        return k;
}

char *object_key_recording_prefix(const char *prefix, const char *area, const char *serial, const char *recording) {
        char *k;

        if (asprintf(&k, "%s%s%s/%s/%s/", prefix, separator(prefix), area, serial, recording) < 0)
                return NULL;
        return k;
}

char *object_key_dock_file(const char *prefix, const char *area, const char *dock, const char *name) {
        char *k;

        if (asprintf(&k, "%s%s%s/%s/%s", prefix, separator(prefix), area, dock, name) < 0)
                return NULL;
        return k;
}
