/* SPDX-License-Identifier: Apache-2.0 */
/* object-key.h: the names of objects in central storage, the same on every
 * backend (docs/design.md, "Object layout"):
 *   <prefix>/evidence|quarantine/<serial>/<recording>/<index:06>.<ext>
 *   <prefix>/custody/<dock>/<file>      <prefix>/reports/<dock>/<file>
 * The prefix may be empty; then the key starts with the area. */
#pragma once

#include "macro.h"

/* area: "evidence" or "quarantine". Caller frees; NULL when out of memory. */
char *object_key_segment(const char *prefix, const char *area, const char *serial, const char *recording,
                         uint32_t index, const char *ext);
/* area: "custody" or "reports"; name: the file's name. */
char *object_key_dock_file(const char *prefix, const char *area, const char *dock, const char *name);
