/* SPDX-License-Identifier: Apache-2.0 */
/* failpoint.h: named crash points for the kill -9 tests. Built only with
 * -Dfailpoints=true; DOCKD_FAILPOINTS="name[@text][:n][,…]" makes the n-th
 * (default first) pass through that point kill the process with SIGKILL; with
 * @text only the passes whose detail (a path, for instance) contains text count. */
#pragma once

#include <stddef.h>

#include "config.h"

#if ENABLE_FAILPOINTS
void failpoint_detail(const char *name, const char *detail);
#else
static inline void failpoint_detail(const char *name, const char *detail) {
        (void) name;
        (void) detail;
}
#endif

static inline void failpoint(const char *name) {
        failpoint_detail(name, NULL);
}
