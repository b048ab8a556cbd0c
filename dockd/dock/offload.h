/* SPDX-License-Identifier: Apache-2.0 */
/* offload.h: taking a docked camera's segments into the dock (one docking of one
 * camera): inventory, pull with resume, verification, spool, custody, hand-off to
 * central storage, and deletion from the camera once central storage confirmed
 * and the whole recording verified. Restartable at any point: everything it
 * decides is derived from the spool's durable state and the camera's inventory. */
#pragma once

#include "generic-listing.h"
#include "offload-types.h"

/* Offload camera, docked in bay (for logs), whose serial is authenticated. */
int offload_start(const DockContext *ctx, Camera *camera, const char *bay, const char *serial,
                  const OffloadCallbacks *cb, void *userdata, Offload **ret);
/* Offload an allow-listed camera that does not sign (README, "Cameras that
 * do not sign"): the complete files of listing (generic-survey.h), each sealed
 * by the dock (offload-seal.c). g must outlive the offload; the listing is
 * read at the start only. */
int offload_start_sealed(const DockContext *ctx, Camera *camera, const char *bay, const char *serial,
                         const GenericCameraConfig *g, const GenericListing *listing, const OffloadCallbacks *cb,
                         void *userdata, Offload **ret);
Offload *offload_free(Offload *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Offload *, offload_free);

/* Central storage confirmed a segment of this camera: delete it if allowed. */
void offload_segment_confirmed(Offload *o, const SegmentId *id);
/* Spool space was freed: paused pulls may go on. */
void offload_spool_freed(Offload *o);
void offload_get_progress(Offload *o, OffloadProgress *ret);
const OffloadSummary *offload_summary(Offload *o);
