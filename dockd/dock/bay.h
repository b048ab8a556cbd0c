/* SPDX-License-Identifier: Apache-2.0 */
/* bay.h: one bay of the dock and its docking state machine: empty →
 * identifying → syncing → testing → offloading → charging → ready | fault, back
 * to empty when the camera leaves (after a debounce: a camera that re-enumerates
 * is the same camera). bay.c drives the camera; bay-health.c tests and charges
 * it, collects findings and files the docking's report; bay-state.h is the
 * object they share. The bay gets what it needs from the dock in a DockContext
 * and tells its owner about state changes through BayCallbacks. */
#pragma once

#include <json-c/json.h>
#include <libusb.h>

#include "bay-state.h"

/* Bay index (1-based) of ctx->config's bays; ctx must outlive the bay. */
int bay_new(const DockContext *ctx, unsigned index, const BayCallbacks *cb, void *userdata, Bay **ret);
Bay *bay_ref(Bay *b);
Bay *bay_unref(Bay *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bay *, bay_unref);

void bay_device_arrived(Bay *b, libusb_device *dev, const char *port);
void bay_device_left(Bay *b, libusb_device *dev);
/* Central storage confirmed a segment of the camera this bay holds: it may be
 * deleted from the camera now. */
void bay_segment_confirmed(Bay *b, const SegmentId *id);
/* The spool has room again: a paused pull goes on. */
void bay_spool_freed(Bay *b);
/* An operator disables (false) or enables the bay. Disabled, it leaves a camera
 * in it alone: the docking ends where it is (resumable, as after an undock),
 * nothing is pulled or deleted, charging is inhibited, the red LED is on while a
 * camera is in it. Enabled again, a camera in it is handled as just docked. */
void bay_set_enabled(Bay *b, bool enabled);
/* Is a device in the bay (a camera being handled, or one a disabled bay leaves alone)? */
bool bay_device_present(Bay *b);

/* Stop everything (daemon shutdown): work stays resumable. */
void bay_shutdown(Bay *b);

struct json_object *bay_status_json(Bay *b);
