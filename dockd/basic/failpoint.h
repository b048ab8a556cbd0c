/* SPDX-License-Identifier: Apache-2.0 */
/* failpoint.h: named crash points for the kill -9 tests. Built only with
 * -Dfailpoints=true; DOCKD_FAILPOINTS="name[:n][,name[:n]…]" makes the n-th
 * (default first) pass through that point kill the process with SIGKILL. */
#pragma once

#include "config.h"

#if ENABLE_FAILPOINTS
void failpoint(const char *name);
#else
static inline void failpoint(const char *name) {
        (void) name;
}
#endif
