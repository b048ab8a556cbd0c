/* SPDX-License-Identifier: Apache-2.0 */
/* object-key.h: the names of objects in central storage, the same on every
 * backend (docs/design.md, "Object layout"):
 *   <prefix>/evidence|quarantine/<serial>/<recording>/<index:06>[<variant>].<ext>
 *   <prefix>/custody/<dock>/<file>      <prefix>/reports/<dock>/<file>
 * The prefix may be empty; then the key starts with the area. */
#pragma once

#include "macro.h"

/* area: "evidence" or "quarantine"; variant: NULL, or for other content under a
 * name the camera reused, "~" and the first 16 hex digits of that content's .man
 * SHA-256 (never the same key as the first content's). Caller frees; NULL when
 * out of memory. */
char *object_key_segment(const char *prefix, const char *area, const char *serial, const char *recording,
                         uint32_t index, const char *variant, const char *ext);
/* The prefix under which every object of a recording is: ".../area/serial/recording/". */
char *object_key_recording_prefix(const char *prefix, const char *area, const char *serial, const char *recording);
/* area: "custody" or "reports"; name: the file's name. */
char *object_key_dock_file(const char *prefix, const char *area, const char *dock, const char *name);
