/* SPDX-License-Identifier: Apache-2.0 */
/* partial-sweep.h: partial pulls of cameras that never came back. A camera that
 * leaves mid-segment leaves <index>.mp4.part (and the segment's .man and .p7s)
 * in the shared spool; if it does not return within [spool] partial_max_age the
 * bytes go, with a custody record (pull-abandoned) and a malfunction report
 * (finding abandoned-pull): the segment is still on the camera, and the next
 * docking pulls it afresh. */
#pragma once

#include "dock-context.h"

/* Is a camera of this serial docked now (its pull may go on)? */
typedef bool (*partial_sweep_docked_t)(const char *serial, void *userdata);

/* One pass over the spool: every partial pull older than max_age of a camera
 * that is not docked is removed and reported. */
int partial_sweep_run(const DockContext *ctx, usec_t max_age, partial_sweep_docked_t docked, void *userdata);
