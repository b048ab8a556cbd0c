/* SPDX-License-Identifier: Apache-2.0 */
/* operator-bus.h: the operator actions of docs/dbus-api.md, each authorised by
 * polkit (bus-polkit.h) and recorded in custody with who asked before anything
 * changes. None deletes evidence or shortens a hold. */
#pragma once

#include <systemd/sd-bus.h>

#define DOCKD_ACTION_RETRY_STORAGE "org.dockd.retry-storage"
#define DOCKD_ACTION_HOLD_RECORDING "org.dockd.hold-recording"
#define DOCKD_ACTION_RELEASE_RECORDING "org.dockd.release-recording"
#define DOCKD_ACTION_MANAGE_BAY "org.dockd.manage-bay"
#define DOCKD_ACTION_RUN_SELF_TEST "org.dockd.run-self-test"
#define DOCKD_ERROR_ALREADY_HELD "org.dockd.Dock1.Error.AlreadyHeld"
#define DOCKD_ERROR_NOT_HELD "org.dockd.Dock1.Error.NotHeld"
#define DOCKD_ERROR_CUSTODY_FAILED "org.dockd.Dock1.Error.CustodyFailed"
#define DOCKD_ERROR_NO_CAMERA "org.dockd.Dock1.Error.NoCamera"
#define DOCKD_ERROR_BUSY "org.dockd.Dock1.Error.Busy"

/* org.dockd.Dock1.HoldRecording(s camera, s recording, s reference) and
 * ReleaseRecording(same): a preservation request and its end. */
int method_hold_recording(sd_bus_message *msg, void *userdata, sd_bus_error *error);
int method_release_recording(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* org.dockd.Bay1.SetEnabled(b enabled); userdata: the Bay. */
int method_set_enabled(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* org.dockd.Bay1.RunSelfTest(); userdata: the Bay. */
int method_run_self_test(sd_bus_message *msg, void *userdata, sd_bus_error *error);
/* org.dockd.Dock1.RetryStorage() */
int method_retry_storage(sd_bus_message *msg, void *userdata, sd_bus_error *error);
