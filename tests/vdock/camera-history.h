/* camera-history.h: what a camera does between (or during) dockings that
 * changes what it holds: it records new segments, loses some, or reuses a
 * recording id for new content. Keys record, lose, reuse_recording_id
 * (tests/vdock/README.md); the ground truth keeps every generation. */
#pragma once
#include "camera.h"

/* The camera reuses recording's id (NULL: its first recording) for new
 * content: every segment gets new bytes (sizes from segments, "3x1M, 2M";
 * NULL: as before). Objects still on the camera are overwritten (fate
 * "replaced"); the new ones get new handles. */
gboolean camera_reuse_recording(Camera *cam, const char *recording, const char *segments, GError **error);
/* Arm a reuse for the next time the camera leaves a bay. */
void camera_arm_reuse(Camera *cam, const char *recording, const char *segments);
/* The camera records more segments of recording (NULL: its first), chained
 * to the last one unless broken_chain (then the first new one's prev names
 * a manifest that never existed). A deleted folder is made again. */
gboolean camera_record(Camera *cam, const char *recording, const char *sizes, gboolean broken_chain, GError **error);
/* The segment's files vanish from the camera without a DeleteObject. */
void camera_lose(Camera *cam, Segment *seg);
