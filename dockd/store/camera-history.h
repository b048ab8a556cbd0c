/* SPDX-License-Identifier: Apache-2.0 */
/* camera-history.h: a camera's history across dockings, kept in
 * <state_dir>/cameras/<serial>.json (written atomically): when it was last
 * docked and its battery health over time (CameraHistory, health.h). */
#pragma once

#include "health.h"

/* A camera never seen has an empty history (not an error). -EINVAL for a serial
 * that is no valid file name. */
int camera_history_load(const char *state_dir, const char *serial, CameraHistory *ret);
int camera_history_save(const char *state_dir, const char *serial, const CameraHistory *h);
