/* SPDX-License-Identifier: Apache-2.0 */
/* operator-bus.c: see operator-bus.h. The order is always: arguments checked,
 * polkit asked, then anything looked up, the custody record written, the
 * change made. */
#include "bay-health.h"
#include "bays-disabled.h"
#include "bus-changes.h"
#include "bus-polkit.h"
#include "log.h"
#include "manifest.h"
#include "manager.h"
#include "operator-bus.h"

/* The custody record naming who asked: written before the change, and without
 * it nothing changes. */
static int record_action(Manager *m, const char *event, const char *bay, const char *camera, const char *action,
                         const BusCaller *caller, const LogField *extra, sd_bus_error *error) {
        LogField fields[8] = {
                { "action", action }, { "uid", caller->uid_text }, { "user", caller->user },
        };
        size_t n = 3;
        int r;

        for (const LogField *f = extra; f && f->key && n + 1 < ELEMENTSOF(fields); f++)
                fields[n++] = *f;
        r = custody_log_record(m->dock.custody, event, bay, camera, NULL, fields);
        if (r < 0)
                return sd_bus_error_setf(error, DOCKD_ERROR_CUSTODY_FAILED,
                                         "The custody record could not be written (%s): nothing was done.",
                                         strerror(-r));
        return 0;
}

static int retry_storage(sd_bus_message *call, const char *action, const BusCaller *caller, void *userdata,
                         sd_bus_error *error) {
        Manager *m = userdata;
        size_t n;
        int r;

        r = record_action(m, "storage-retry", NULL, NULL, action, caller, NULL, error);
        if (r < 0)
                return r;
        n = uploader_retry_now(central_uploader(m->dock.central));
        log_info("%s (uid %s) asked to retry central storage now: %zu upload(s) were waiting.",
                 caller->user[0] ? caller->user : "?", caller->uid_text, n);
        return sd_bus_reply_method_return(call, "");
}

int method_retry_storage(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_authorize(m->polkit, msg, DOCKD_ACTION_RETRY_STORAGE, NULL, retry_storage, userdata, error);
}

/* ---- holds ---- */

/* The arguments of HoldRecording and ReleaseRecording, read and checked before
 * polkit is asked: its dialog never shows garbage. */
typedef struct HoldArgs {
        const char *camera, *recording, *reference;
} HoldArgs;

static int hold_args(sd_bus_message *msg, HoldArgs *ret, sd_bus_error *error) {
        int r = sd_bus_message_read(msg, "sss", &ret->camera, &ret->recording, &ret->reference);

        if (r < 0)
                return r;
        if (!serial_is_valid(ret->camera))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Not a camera serial.");
        if (!recording_id_is_valid(ret->recording))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Not a recording id.");
        if (!hold_reference_is_valid(ret->reference))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "A reference is 1-128 characters of UTF-8 without control characters.");
        return 0;
}

static int hold_change(sd_bus_message *call, const char *action, const BusCaller *caller, void *userdata,
                       sd_bus_error *error) {
        Manager *m = userdata;
        bool hold = streq(action, DOCKD_ACTION_HOLD_RECORDING);
        const LogField extra[] = { { "recording", NULL }, { "reference", NULL }, {} };
        LogField fields[3];
        uint64_t now = 0;
        HoldArgs a;
        int r;

        /* Read again: the call was checked before polkit, and is the same message. */
        r = sd_bus_message_rewind(call, true);
        if (r >= 0)
                r = hold_args(call, &a, error);
        if (r < 0)
                return r;
        if (hold && holds_find(m->holds, a.camera, a.recording, a.reference))
                return sd_bus_error_setf(error, DOCKD_ERROR_ALREADY_HELD, "Recording %s of %s is already held "
                                         "for that reference.", a.recording, a.camera);
        if (!hold && !holds_find(m->holds, a.camera, a.recording, a.reference))
                return sd_bus_error_setf(error, DOCKD_ERROR_NOT_HELD, "No hold of recording %s of %s with that "
                                         "reference.", a.recording, a.camera);
        memcpy(fields, extra, sizeof fields);
        fields[0].value = a.recording;
        fields[1].value = a.reference;
        r = record_action(m, hold ? "recording-held" : "recording-released", NULL, a.camera, action, caller, fields,
                          error);
        if (r < 0)
                return r;
        (void) sd_event_now(m->event, CLOCK_REALTIME, &now);
        if (hold)
                r = holds_add(m->holds, &(Hold) {
                        .camera = (char *) a.camera, .recording = (char *) a.recording,
                        .reference = (char *) a.reference, .since = now, .uid = caller->uid,
                        .user = (char *) caller->user,
                });
        else
                r = holds_remove(m->holds, a.camera, a.recording, a.reference);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "The holds file could not be written (%s)%s.",
                                         strerror(-r), r == -EBUSY ? ": it was unreadable at start" : "");
        log_notice("%s (uid %s) %s recording %s of camera %s (reference %s).", caller->user[0] ? caller->user : "?",
                   caller->uid_text, hold ? "held" : "released", a.recording, a.camera, a.reference);
        /* What central storage already holds of it: its own legal hold, where the
         * store can; the hold above is made and durable whatever that says. A
         * release lifts nothing there (the store's administrators decide). */
        if (hold && m->dock.central) {
                r = central_legal_hold(m->dock.central, a.camera, a.recording, a.reference);
                if (r < 0)
                        log_error_errno(r, "Cannot start the legal hold in central storage on recording %s of "
                                        "camera %s: %m", a.recording, a.camera);
        }
        bus_watcher_changed(m->bus_watcher);
        return sd_bus_reply_method_return(call, "");
}

static int method_hold_change(sd_bus_message *msg, Manager *m, const char *action, sd_bus_error *error) {
        HoldArgs a;
        int r = hold_args(msg, &a, error);

        if (r < 0)
                return r;
        return bus_authorize(m->polkit, msg, action,
                             (const char *const[]) { "camera", a.camera, "recording", a.recording,
                                                     "reference", a.reference, NULL },
                             hold_change, m, error);
}

int method_hold_recording(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_hold_change(msg, userdata, DOCKD_ACTION_HOLD_RECORDING, error);
}

int method_release_recording(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_hold_change(msg, userdata, DOCKD_ACTION_RELEASE_RECORDING, error);
}

/* ---- bays ---- */

static int set_enabled(sd_bus_message *call, const char *action, const BusCaller *caller, void *userdata,
                       sd_bus_error *error) {
        Bay *b = userdata;
        Manager *m = b->userdata;   /* the bay's owner, given to bay_new() */
        bool disabled[DOCKD_MAX_BAYS] = {};
        int enable, r;

        r = sd_bus_message_rewind(call, true);
        if (r >= 0)
                r = sd_bus_message_read(call, "b", &enable);
        if (r < 0)
                return r;
        if (!!enable == !b->disabled)
                return sd_bus_reply_method_return(call, "");
        r = record_action(m, enable ? "bay-enabled" : "bay-disabled", b->name, b->serial, action, caller, NULL,
                          error);
        if (r < 0)
                return r;
        /* Durable before the bay changes: a restart must not undo it. */
        for (unsigned i = 0; i < m->config->n_bays; i++)
                disabled[i] = m->bays[i] && (m->bays[i] == b ? !enable : m->bays[i]->disabled);
        r = bays_disabled_save(m->config->state_dir, disabled, m->config->n_bays);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Cannot write which bays are disabled (%s).",
                                         strerror(-r));
        log_notice("%s (uid %s) %s bay %u.", caller->user[0] ? caller->user : "?", caller->uid_text,
                   enable ? "enabled" : "disabled", b->index);
        bay_set_enabled(b, enable);
        bus_watcher_changed(m->bus_watcher);
        return sd_bus_reply_method_return(call, "");
}

int method_set_enabled(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bay *b = userdata;
        Manager *m = b->userdata;
        int enable, r = sd_bus_message_read(msg, "b", &enable);

        if (r < 0)
                return r;
        return bus_authorize(m->polkit, msg, DOCKD_ACTION_MANAGE_BAY, (const char *const[]) { "bay", b->name, NULL },
                             set_enabled, b, error);
}

/* ---- self-test ---- */

static int run_self_test(sd_bus_message *call, const char *action, const BusCaller *caller, void *userdata,
                         sd_bus_error *error) {
        Bay *b = userdata;
        Manager *m = b->userdata;
        int r;

        /* Looked up only now that polkit said yes; refused before the record. */
        r = bay_health_can_rerun_self_test(b);
        if (r == -ENODEV)
                return sd_bus_error_setf(error, DOCKD_ERROR_NO_CAMERA, "No camera is identified in bay %u.",
                                         b->index);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED, "The camera in bay %u does not sign and "
                                         "has no self-test: it shows as not supported.", b->index);
        if (r == -EPERM)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Bay %u is in fault for a reason of the dock, "
                                         "not of its camera (%s): a self-test cannot clear it.", b->index,
                                         strna(b->fault_reason));
        if (r < 0)
                return sd_bus_error_setf(error, DOCKD_ERROR_BUSY, "Bay %u is %s: its camera is being handled "
                                         "(a self-test runs once it is ready or in fault).", b->index,
                                         bay_state_to_string(b->state));
        r = record_action(m, "self-test-requested", b->name, b->serial, action, caller, NULL, error);
        if (r < 0)
                return r;
        r = bay_health_rerun_self_test(b);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "The camera's self-test could not be started "
                                         "(%s).", strerror(-r));
        log_notice("%s (uid %s) ran the self-test of the camera in bay %u again.",
                   caller->user[0] ? caller->user : "?", caller->uid_text, b->index);
        bus_watcher_changed(m->bus_watcher);
        return sd_bus_reply_method_return(call, "");
}

int method_run_self_test(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bay *b = userdata;
        Manager *m = b->userdata;

        return bus_authorize(m->polkit, msg, DOCKD_ACTION_RUN_SELF_TEST, (const char *const[]) { "bay", b->name, NULL },
                             run_self_test, b, error);
}
